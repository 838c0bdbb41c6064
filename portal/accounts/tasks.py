from importlib import import_module

from django.conf import settings

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def build_data_export(export_id):
    """Build one 'download all my data' archive (a second run of the same task does nothing)."""
    return services.build_export(export_id)


@shared_task
def clean_data_exports():
    """Beat: delete archives past their time, restart ones that never started."""
    return services.clean_exports()


@shared_task(autoretry_for=(Exception,), retry_backoff=60, max_retries=8)
def send_closure_email(address, language):
    """The 'your account is closed' e-mail (the account, and so the outbox, is gone)."""
    services.send_closure_email(address, language)


@shared_task
def clear_expired_sessions():
    """Beat: delete expired sessions (what `manage.py clearsessions` does), so the table every
    signed-in request reads holds live sessions only."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()

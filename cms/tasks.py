"""Background work of the public site, run by Celery (beat every minute: no cron to remember)."""

from django.core.management import call_command

from celery import shared_task


@shared_task(name="cms.tasks.publish_scheduled", ignore_result=True)
def publish_scheduled():
    """Every minute: publish what is scheduled to go live and unpublish what has expired
    (Wagtail's own `publish_scheduled`, so moderation and logging behave as in the admin),
    then send urgent announcements whose task was never queued."""
    from . import residents

    call_command("publish_scheduled", verbosity=0)
    residents.send_pending_broadcasts()


@shared_task(name="cms.tasks.send_urgent_announcement", ignore_result=True)
def send_urgent_announcement(translation_key):
    from . import residents

    residents.send_urgent(translation_key)

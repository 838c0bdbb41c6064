"""The rules of residents' connected apps, called by the consent view, My page and the
connected-apps page: connect (the resident's consent), list, disconnect."""

from django.db import transaction
from django.utils import timezone

from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from health.fhir.links import usable_links

from .models import Connection


def patient_for(user):
    """The Patient an app connected by this account reaches: the first usable link, the
    same record the resident's own record pages show; None when there is none."""
    return usable_links(user).values_list("patient_id", flat=True).first()


def _delete_tokens(user, application):
    """Every credential the app holds for the account: they stop working at once."""
    for model in (
        get_refresh_token_model(),
        get_access_token_model(),
        get_id_token_model(),
        get_grant_model(),
    ):
        model.objects.filter(user=user, application=application).delete()


def connect(user, application, patient_id, scopes):
    """Record the resident's consent (one connection per account and app). Consent to
    another Patient's record than before ends the tokens issued for the old one."""
    with transaction.atomic():
        connection = (
            Connection.objects.select_for_update()
            .filter(user=user, application=application)
            .first()
        )
        if connection is None:
            return Connection.objects.create(
                user=user,
                application=application,
                patient_id=patient_id,
                scopes=scopes,
                connected_at=timezone.now(),
            )
        if connection.patient_id != patient_id:
            _delete_tokens(user, application)
        connection.patient_id = patient_id
        connection.scopes = scopes
        connection.connected_at = timezone.now()
        connection.save(update_fields=["patient_id", "scopes", "connected_at"])
        return connection


def connections(user):
    """The account's connected apps, most recently used first."""
    return (
        Connection.objects.filter(user=user)
        .select_related("application__smart")
        .order_by("-last_used_at", "-connected_at", "pk")
    )


def disconnect(user, connection_id):
    """Revoke one of the account's connections and every token of it; False if the account
    has no such connection."""
    with transaction.atomic():
        connection = Connection.objects.filter(user=user, pk=connection_id).first()
        if connection is None:
            return False
        _delete_tokens(user, connection.application)
        connection.delete()
        return True


def disconnect_all(user):
    """Account closure: every app loses access."""
    for connection in list(Connection.objects.filter(user=user)):
        disconnect(user, connection.pk)


def has_apps(user):
    """Whether the account has connected an app. One query."""
    return Connection.objects.filter(user=user).exists()

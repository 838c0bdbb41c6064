"""Connected health apps' part of "download all my data" and of closing an account."""

from django.utils.translation import gettext_lazy as _

from portal.accounts.closure import register_closure_rule
from portal.accounts.exports import register_export_part
from portal.wording import join_list

from . import services


@register_export_part("health-apps", _("Connected health apps"), order=55)
def export_connected_apps(user, archive):
    archive.write_json(
        "health/connected-apps.json",
        [
            {
                "app": connection.application.name,
                "patient": connection.patient_id,
                "scopes": connection.scopes.split(),
                "connected_at": connection.connected_at,
                "last_used_at": connection.last_used_at,
            }
            for connection in services.connections(user)
        ],
    )


@register_closure_rule("health-apps", order=45)
class AppsOnClosure:
    """Every connected app loses access; what they read stays in the record's audit trail."""

    def describe(self, user):
        names = [c.application.name for c in services.connections(user)]
        if not names:
            return []
        return [
            _("These apps lose access to your health record at once: %(apps)s.")
            % {"apps": join_list(names)}
        ]

    def apply(self, user, now):
        services.disconnect_all(user)

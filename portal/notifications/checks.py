"""System check: every registered notification kind's templates exist and compile."""

from django.core import checks
from django.template import TemplateDoesNotExist, TemplateSyntaxError

from .kinds import all_kinds


@checks.register(checks.Tags.templates)
def check_notification_kinds(app_configs=None, **kwargs):
    errors = []
    for kind in all_kinds():
        try:
            kind.check_templates()
        except (TemplateDoesNotExist, TemplateSyntaxError) as exc:
            errors.append(
                checks.Error(
                    f"Notification kind {kind.name!r}: template problem: {exc}",
                    id="notifications.E001",
                )
            )
    return errors

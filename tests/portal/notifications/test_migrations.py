"""Migration 0004 (attachments made when the e-mail is sent), undone: the code before it sends
an attachment's kept content, so the files kept only as a maker's value are drawn first."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

import pytest

from health.booking.qr import qr_png
from portal.notifications.services import Attachment
from tests.factories import UserFactory

from .kinds import note

BEFORE = [("notifications", "0003_delivery_lease")]


@pytest.mark.django_db(transaction=True)
def test_undoing_it_draws_the_files_kept_as_a_value(back_to_latest):
    message = note(
        UserFactory(),
        attachments=[
            Attachment("kept.txt", b"kept as it is", "text/plain"),
            Attachment(
                "check-in-code.png",
                mimetype="image/png",
                made_by="booking.check_in_qr",
                made_from="K7Q2MX9P",
            ),
        ],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    rows = old.get_model("notifications", "MessageAttachment").objects.filter(message=message.pk)
    assert [(r.filename, bytes(r.content)) for r in rows.order_by("pk")] == [
        ("kept.txt", b"kept as it is"),
        ("check-in-code.png", qr_png("K7Q2MX9P")),
    ]

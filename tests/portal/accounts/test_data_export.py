"""Download all my data (issue 12): one archive of every app's part, built in the background
with progress on the page, the resident told when it is ready, downloadable by them alone for a
limited time and then deleted; asking again while one is being built starts no second one."""

import json
import zipfile
from datetime import timedelta
from io import BytesIO

from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import pytest

from health.booking.models import WaitlistEntry
from health.fhir.models import AuditEvent, PatientLink
from portal.accounts import services
from portal.accounts.exports import export_parts
from portal.accounts.models import DataExport
from portal.mypage.models import PanelLayout
from portal.notifications.models import Message
from tests.factories import UserFactory
from tests.health.booking.factories import (
    AppointmentFactory,
    ClinicFactory,
    DependantFactory,
    ServiceFactory,
    SlotFactory,
    tomorrow_at,
)
from tests.health.records.conftest import load_patient
from tests.portal.notifications.factories import MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    settings.ACCOUNTS_EXPORT_ROOT = tmp_path / "private" / "exports"
    return settings.ACCOUNTS_EXPORT_ROOT


@pytest.fixture
def prepare(django_capture_on_commit_callbacks):
    """Ask for an archive; the build task runs when the request's transaction commits."""

    def run(user):
        with django_capture_on_commit_callbacks(execute=True):
            services.request_export(user)
        return DataExport.objects.filter(user=user).latest("created_at")

    return run


def read_archive(response):
    content = b"".join(response.streaming_content)
    return zipfile.ZipFile(BytesIO(content))


def test_every_app_adds_its_part():
    slugs = [part.slug for part in export_parts()]
    assert slugs == [
        "profile",
        "mypage",
        "inbox",
        "appointments",
        "cases",
        "cards",
        "health",
        "health-apps",
        "cms",
    ]


def test_a_resident_downloads_everything_the_portal_holds(
    resident_client, resident, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL = "http://testserver"
    profile = resident.profile
    profile.display_name = "Mei Lin"
    profile.preferred_language = "en"  # the summary is written in the resident's language
    profile.notify_sms, profile.phone = True, "+85291234567"
    profile.save()
    PanelLayout.objects.create(user=resident, order=["inbox", "profile"], hidden=["health"])
    MessageFactory(user=resident, subject="Welcome", body="Hello Mei")
    service = ServiceFactory()
    clinic = ClinicFactory(services=[service])
    child = DependantFactory(owner=resident, name="Little Lin")
    AppointmentFactory(
        resident=resident, dependant=child, slot=SlotFactory(clinic=clinic, service=service)
    )
    full = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(11))
    WaitlistEntry.objects.create(slot=full, resident=resident)
    patient_id = load_patient(seed=3, encounters=2)
    PatientLink.objects.create(user=resident, patient_id=patient_id)
    other = UserFactory()
    MessageFactory(user=other, subject="Not yours", body="Someone else's message")

    resident_client.cookies["portal_language"] = "en"
    with django_capture_on_commit_callbacks(execute=True):
        response = resident_client.post(reverse("account_data_export"), follow=True)
    assert "We are preparing your data" in response.content.decode()
    export = DataExport.objects.get(user=resident)
    assert export.status == DataExport.Status.READY  # Celery runs eagerly in tests
    assert export.parts_done == export.parts_total == len(export_parts())

    # Told in the inbox, with a link to the page.
    message = Message.objects.filter(user=resident, kind="accounts.data_export_ready").get()
    assert message.url == reverse("account_data_export")

    page = resident_client.get(reverse("account_data_export"))
    assert "Ready to download" in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    download = resident_client.get(reverse("account_data_export_download", args=[export.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert "no-store" in download["Cache-Control"]
    assert "attachment;" in download["Content-Disposition"]
    archive = read_archive(download)
    names = set(archive.namelist())
    assert {
        "README.txt",
        "profile/profile.json",
        "mypage/layout.json",
        "inbox/messages.json",
        "appointments/appointments.json",
        "cases/cases.json",
        "health/record.fhir.json",
        "health/summary.html",
        "health/access-log.csv",
        "announcements/read.json",
        "health/connected-apps.json",
    } <= names

    profile_json = json.loads(archive.read("profile/profile.json"))
    assert profile_json["display_name"] == "Mei Lin"
    assert profile_json["notification_choices"] == {"inbox": True, "email": True, "sms": True}
    assert json.loads(archive.read("mypage/layout.json"))["hidden"] == ["health"]
    inbox = json.loads(archive.read("inbox/messages.json"))
    assert [m["subject"] for m in inbox] == ["Welcome"]  # not the other resident's
    booking = json.loads(archive.read("appointments/appointments.json"))
    assert booking["household"][0]["name"] == "Little Lin"
    assert booking["appointments"][0]["for"] == "Little Lin"
    assert len(booking["waitlist_places"]) == 1
    bundle = json.loads(archive.read("health/record.fhir.json"))
    assert bundle["resourceType"] == "Bundle"
    assert any(e["resource"]["resourceType"] == "Patient" for e in bundle["entry"])
    assert "<h1>Health summary</h1>" in archive.read("health/summary.html").decode()
    assert archive.read("health/access-log.csv").decode().startswith("when,who,role,action")
    # The export itself is in the record's audit trail.
    assert AuditEvent.objects.filter(patient_id=patient_id, action="export").exists()


def test_asking_again_while_building_starts_no_second_one(resident, celery_eager):
    celery_eager.conf.task_always_eager = False  # leave it waiting, as a busy worker would
    from unittest import mock

    with mock.patch("portal.accounts.services.queue_export") as queue:
        first, created = services.request_export(resident)
        second, created_again = services.request_export(resident)
    assert created and not created_again
    assert first.pk == second.pk
    assert DataExport.objects.filter(user=resident).count() == 1
    assert queue.call_count <= 1


def test_the_page_shows_progress_while_building(resident_client, resident):
    export = DataExport.objects.create(
        user=resident, status=DataExport.Status.BUILDING, parts_total=5, parts_done=2
    )
    resident_client.cookies["portal_language"] = "en"
    html = resident_client.get(reverse("account_data_export")).content.decode()
    assert "2 of 5 parts done" in html
    assert '<progress id="data-export-bar" max="100" value="40">' in html
    assert "Prepare my data" not in html  # no second one while this one is built
    status = resident_client.get(reverse("account_data_export_status", args=[export.pk]))
    assert status.json()["percent"] == 40
    assert "no-store" in status["Cache-Control"]


def test_only_the_owner_can_download(resident_client, resident, prepare):
    export = prepare(resident)
    stranger = Client()
    stranger.force_login(UserFactory())
    url = reverse("account_data_export_download", args=[export.pk])
    assert stranger.get(url).status_code == 404
    assert stranger.get(reverse("account_data_export_status", args=[export.pk])).status_code == 404
    assert Client().get(url).status_code == 302  # signed out: to sign-in
    assert resident_client.get(url).status_code == 200


def test_archives_are_outside_the_web_root_and_deleted_when_their_time_is_up(
    resident_client, resident, settings, prepare
):
    export = prepare(resident)
    path = services.export_file(export)
    assert path.exists()
    assert not str(path).startswith(str(settings.MEDIA_ROOT))
    assert not str(path).startswith(str(settings.STATIC_ROOT))

    # Before its time nothing goes; after it the periodic cleanup deletes the file.
    assert services.clean_exports(now=timezone.now()) == 0
    assert services.clean_exports(now=export.expires_at + timedelta(seconds=1)) == 1
    assert not path.exists()
    export.refresh_from_db()
    assert export.status == DataExport.Status.EXPIRED
    url = reverse("account_data_export_download", args=[export.pk])
    assert resident_client.get(url).status_code == 404


def test_a_download_past_its_time_is_refused_even_before_cleanup(
    resident_client, resident, prepare
):
    export = prepare(resident)
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(1))
    url = reverse("account_data_export_download", args=[export.pk])
    assert resident_client.get(url).status_code == 404


def test_a_build_a_dead_worker_left_fails_and_a_new_one_can_start(resident):
    old = timezone.now() - timedelta(hours=2)
    DataExport.objects.create(
        user=resident, status=DataExport.Status.BUILDING, created_at=old, started_at=old
    )
    services.clean_exports()
    assert DataExport.objects.get(user=resident).status == DataExport.Status.FAILED
    export, created = services.request_export(resident)
    assert created


def test_a_failing_part_fails_the_archive_and_leaves_no_file(resident, export_root, prepare):
    from portal.accounts import exports

    def broken(user, archive):
        raise RuntimeError("boom")

    exports.discover()
    exports._parts["broken"] = exports.ExportPart("broken", "Broken", broken, 999)
    try:
        export = prepare(resident)
    finally:
        del exports._parts["broken"]
    assert export.status == DataExport.Status.FAILED
    assert list(export_root.glob("*")) == []


def test_cleanup_runs_from_beat():
    from django.conf import settings

    schedule = settings.CELERY_BEAT_SCHEDULE["accounts-clean-data-exports"]
    assert schedule["task"] == "portal.accounts.tasks.clean_data_exports"
    call_command("check")

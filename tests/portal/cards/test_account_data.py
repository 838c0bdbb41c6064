"""Cards in "download all my data" and "close my account", through the accounts registries."""

import json
import zipfile

from django.core import mail

import pytest

from portal.accounts import services as accounts
from portal.accounts.closure import what_happens
from portal.accounts.exports import Archive, export_parts
from portal.cards.models import ApplicationState, CardApplication, CardState

from .factories import OfficeFactory, UserFactory, collected, officer_of, submitted

pytestmark = pytest.mark.django_db


def test_the_archive_holds_applications_photos_history_and_cards(tmp_path):
    resident = UserFactory()
    office = OfficeFactory()
    first = collected(officer_of(office), resident, office)
    current = submitted(resident, office)
    part = next(p for p in export_parts() if p.slug == "cards")
    path = tmp_path / "export.zip"
    archive = Archive(path)
    part.build(resident, archive)
    archive.close()
    with zipfile.ZipFile(path) as done:
        data = json.loads(done.read("cards/cards.json"))
        references = [row["reference"] for row in data["applications"]]
        assert references == [first.reference, current.reference]
        assert data["applications"][1]["status"] == "submitted"
        assert data["applications"][1]["id_number"] == current.id_number
        assert [e["what"] for e in data["applications"][1]["history"]] == [
            "You started the application.",
            "You sent the application.",
        ]
        assert data["cards"][0]["number"] == first.card.number
        photo = data["applications"][1]["photo"]
        with current.photo.open("rb") as handle:
            assert done.read(photo) == handle.read()


def test_another_residents_data_is_not_in_the_archive(tmp_path):
    resident, other = UserFactory(), UserFactory()
    submitted(other)
    part = next(p for p in export_parts() if p.slug == "cards")
    path = tmp_path / "export.zip"
    archive = Archive(path)
    part.build(resident, archive)
    archive.close()
    with zipfile.ZipFile(path) as done:
        data = json.loads(done.read("cards/cards.json"))
    assert data == {"applications": [], "cards": []}


def test_closing_the_account_withdraws_the_open_application_and_deletes_photos(
    django_capture_on_commit_callbacks, card_files
):
    resident = UserFactory()
    office = OfficeFactory()
    old = collected(officer_of(office), resident, office)
    current = submitted(resident, office)
    sentences = [str(s) for s in what_happens(resident)]
    assert any("card application is withdrawn" in s for s in sentences)
    assert any("stays valid" in s for s in sentences)
    files = [old.photo.path, current.photo.path]
    with django_capture_on_commit_callbacks(execute=True):
        accounts.close_account(resident)
    current.refresh_from_db()
    old.refresh_from_db()
    assert current.state == ApplicationState.WITHDRAWN
    assert not current.photo and not old.photo
    assert not any(__import__("os").path.exists(name) for name in files)
    assert old.card.state == CardState.ACTIVE  # the card in the holder's hands stays valid
    assert CardApplication.objects.filter(applicant=resident).count() == 2
    assert len(mail.outbox) >= 1

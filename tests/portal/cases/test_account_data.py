"""Cases in "download all my data" and "close my account": the resident's cases with their
documents in the archive (nobody else's); on closure drafts go, sent cases stay with the
office unlinked from the account (open ones go on), and the resident is told which."""

import json
import zipfile

from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone, translation

import pytest

from portal.accounts import services as account_services
from portal.accounts.closure import closure_rules, what_happens
from portal.accounts.exports import Archive, export_parts
from portal.cases import services
from portal.cases.account_data import export_cases
from portal.cases.models import Case, CaseDocument, CaseState, ResidentIdentity
from portal.workflow.models import StateChange
from tests.factories import UserFactory

from .factories import PDF, CaseFactory, OfficeFactory, ServiceFactory, officer_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def office():
    return OfficeFactory(code="ACC", phone="21234567")


@pytest.fixture
def officer(office):
    return officer_of(office)


@pytest.fixture
def resident():
    user = UserFactory(email="ho@example.org")
    user.profile.display_name = "Ho Ka Yan"
    user.profile.phone = "+85291234567"
    user.profile.save()
    return user


def attach(case, name, kind=CaseDocument.Kind.APPLICATION):
    document = CaseDocument(
        case=case, kind=kind, filename=name, content_type="application/pdf", size=len(PDF)
    )
    document.file.save("upload", ContentFile(PDF), save=False)
    document.save()
    return document


def test_the_export_holds_my_cases_and_their_documents_only(tmp_path, office, officer, resident):
    assert "cases" in [part.slug for part in export_parts()]
    case = CaseFactory(
        service=ServiceFactory(office=office), applicant=resident, answers={"purpose": "0"}
    )
    services.move(case, "accept", by=officer)
    services.request_correction(case, "your tenancy agreement", by=officer)
    attach(case, "lease.pdf")
    attach(case, "decision.pdf", CaseDocument.Kind.DECISION)
    services.post_message(case, "Please send it soon.", by=officer, from_office=True)
    theirs = CaseFactory(service=ServiceFactory(office=office), applicant=UserFactory())
    attach(theirs, "not-mine.pdf")
    ResidentIdentity.objects.create(user=resident, id_number="A1234563", verified_at=timezone.now())
    path = tmp_path / "export.zip"
    archive = Archive(path)
    with translation.override("en"):
        export_cases(resident, archive)
    archive.close()
    with zipfile.ZipFile(path) as zipped:
        data = json.loads(zipped.read("cases/cases.json"))
        names = zipped.namelist()
        assert data["verified_id_number"] == "A1234563"
        [mine] = data["cases"]
        assert mine["reference"] == case.reference and mine["answers"] == {"purpose": "0"}
        assert mine["status"] == "correction_requested"
        assert mine["clock_stopped"][0]["waiting_for"] == "your tenancy agreement"
        assert [m["text"] for m in mine["messages"]] == ["Please send it soon."]
        assert [h["what"] for h in mine["history"]][-1].startswith("The office needs something")
        files = {d["filename"]: d["file"] for d in mine["documents"]}
        assert set(files) == {"lease.pdf", "decision.pdf"}
        assert zipped.read(files["decision.pdf"]) == PDF
    assert theirs.reference not in json.dumps(data)
    assert not any("not-mine" in name for name in names)


def test_closure_tells_what_happens_to_open_cases(office, officer, resident):
    open_case = CaseFactory(service=ServiceFactory(office=office), applicant=resident)
    CaseFactory(service=ServiceFactory(office=office), applicant=resident, state="approved")
    Case.objects.create(
        service=open_case.service, office=office, applicant=resident, state=CaseState.DRAFT
    )
    with translation.override("en"):
        said = dict(what_happens(resident))["cases"]
    text = " ".join(said)
    assert open_case.reference in text and "21234567" in text
    assert "is not withdrawn" in text and "withdraw it on its page" in text
    assert "finished applications stay with the offices" in text
    assert "unsent drafts and their uploads are deleted" in text
    # Someone without cases reads nothing about them.
    assert "cases" not in dict(what_happens(UserFactory()))
    # The rule runs before the accounts rule erases the profile it copies the name from.
    slugs = [rule.slug for rule in closure_rules()]
    assert slugs.index("cases") < slugs.index("account")


def test_closing_the_account_leaves_sent_cases_with_the_office(
    client, office, officer, resident, case_files
):
    open_case = CaseFactory(service=ServiceFactory(office=office), applicant=resident)
    services.move(open_case, "accept", by=officer)
    draft = Case.objects.create(
        service=open_case.service, office=office, applicant=resident, state=CaseState.DRAFT
    )
    upload = attach(draft, "draft-scan.pdf")
    stored = case_files / upload.file.name
    assert stored.exists()
    ResidentIdentity.objects.create(user=resident, id_number="A1234563", verified_at=timezone.now())
    submitted = StateChange.objects.create(
        model="cases.case",
        object_id=str(open_case.pk),
        step="submit",
        to_state="submitted",
        actor_kind="resident",
        actor=resident,
        actor_label=resident.email,
    )

    account_services.close_account(resident)

    open_case.refresh_from_db()
    assert open_case.applicant is None and open_case.state == CaseState.ACCEPTED
    assert open_case.applicant_name == "Ho Ka Yan"
    assert open_case.applicant_phone == "+85291234567"
    assert open_case.applicant_id_number == "A1234563"
    assert not Case.objects.filter(pk=draft.pk).exists() and not stored.exists()
    assert not ResidentIdentity.objects.exists()
    submitted.refresh_from_db()
    assert submitted.actor_label == ""
    # The office still works the case, and can move it on.
    client.force_login(officer)
    page = client.get(reverse("cases_admin_case", args=[open_case.pk]))
    assert page.status_code == 200 and "Ho Ka Yan" in page.content.decode()
    services.move(open_case, "start", by=officer)
    # A new account that verifies the same ID number gets the case back.
    again = UserFactory()
    _identity, linked = services.verify_identity(again, "A1234563", by=officer)
    assert [case.pk for case in linked] == [open_case.pk]

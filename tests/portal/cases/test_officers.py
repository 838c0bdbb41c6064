"""Officers in the admin: a queue per office sorted by working days left, with filters;
assigning, extending within the rule, messages, documents; another office's case refused;
the office dashboard and the public on-time page."""

from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import pytest

from portal.cases import services
from portal.cases.models import CaseDocument, CaseExtension, CaseState

from .factories import PDF, CaseFactory, OfficeFactory, ServiceFactory, officer_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def office_a():
    return OfficeFactory(code="AAA")


@pytest.fixture
def office_b():
    return OfficeFactory(code="BBB")


@pytest.fixture
def officer(office_a):
    return officer_of(office_a)


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


def case_due(office, due, **kwargs):
    service = kwargs.pop("service", None) or ServiceFactory(office=office)
    today = timezone.localdate()
    return CaseFactory(
        service=service,
        received_on=today - timedelta(days=5),
        due_date=due,
        at_risk_from=due - timedelta(days=2),
        **kwargs,
    )


def test_the_queue_shows_only_my_office_sorted_by_time_left(officer_client, office_a, office_b):
    today = timezone.localdate()
    later = case_due(office_a, today + timedelta(days=20))
    sooner = case_due(office_a, today + timedelta(days=10))
    late = case_due(office_a, today - timedelta(days=3))
    theirs = case_due(office_b, today - timedelta(days=9))
    page = officer_client.get(reverse("cases_admin_queue")).content.decode()
    positions = [page.index(c.reference) for c in (late, sooner, later)]
    assert positions == sorted(positions)
    assert theirs.reference not in page
    assert "Overdue by" in page


def test_filters(officer_client, office_a, officer):
    today = timezone.localdate()
    service = ServiceFactory(office=office_a)
    overdue = case_due(office_a, today - timedelta(days=2))
    at_risk = case_due(office_a, today + timedelta(days=1))
    calm = case_due(office_a, today + timedelta(days=30), service=service, assigned_to=officer)
    done = case_due(office_a, today + timedelta(days=3), state=CaseState.APPROVED)

    def refs(**query):
        page = officer_client.get(reverse("cases_admin_queue"), query).content.decode()
        return {c.reference for c in (overdue, at_risk, calm, done) if c.reference in page}

    assert refs() == {overdue.reference, at_risk.reference, calm.reference}
    assert refs(risk="overdue") == {overdue.reference}
    assert refs(risk="at_risk") == {at_risk.reference}
    assert refs(service=service.pk) == {calm.reference}
    assert refs(assigned="me") == {calm.reference}
    assert refs(assigned="none") == {overdue.reference, at_risk.reference}
    assert refs(status="approved") == {done.reference}
    assert refs(status="not-a-state", risk="<script>", service="x", page="9999") == {
        overdue.reference,
        at_risk.reference,
        calm.reference,
    }


def test_queue_query_count_does_not_grow_with_the_page(officer_client, office_a):
    today = timezone.localdate()
    for day in range(3):
        case_due(office_a, today + timedelta(days=day))
    with CaptureQueriesContext(connection) as few:
        officer_client.get(reverse("cases_admin_queue"))
    for day in range(30):
        case_due(office_a, today + timedelta(days=day))
    with CaptureQueriesContext(connection) as many:
        officer_client.get(reverse("cases_admin_queue"))
    assert len(many) == len(few)


def test_the_queue_pages_without_counting_every_case(officer_client, office_a, monkeypatch):
    """The total is counted up to a cap (100,000 open cases are not counted for each page):
    beyond it the page says "more than"; the pages go on with Previous and Next."""
    from portal.cases import admin_views

    monkeypatch.setattr(admin_views, "QUEUE_PAGE_SIZE", 3)
    monkeypatch.setattr(admin_views, "QUEUE_COUNT_CAP", 5)
    today = timezone.localdate()
    cases = [case_due(office_a, today + timedelta(days=day)) for day in range(8)]
    url = reverse("cases_admin_queue")
    with CaptureQueriesContext(connection) as queries:
        first = officer_client.get(url).content.decode()
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 6" in sql for sql in counts)
    assert "More than 5 cases" in first and "Page 1" in first
    assert [c.reference in first for c in cases] == [True] * 3 + [False] * 5
    assert "page=2" in first and "Previous" not in first
    last = officer_client.get(url, {"page": "3"}).content.decode()
    assert [c.reference in last for c in cases] == [False] * 6 + [True] * 2
    assert "Previous" in last and "page=4" not in last
    # Fewer than a page: the count is the rows shown, with no count query at all.
    with CaptureQueriesContext(connection) as queries:
        few = officer_client.get(url, {"risk": "overdue"}).content.decode()
    assert "0 cases" in few and not [q for q in queries if "COUNT(" in q["sql"].upper()]


def test_an_officer_of_office_a_cannot_open_or_act_on_office_bs_case(officer_client, office_b):
    theirs = case_due(office_b, timezone.localdate() + timedelta(days=5))
    url = reverse("cases_admin_case", args=[theirs.pk])
    assert officer_client.get(url).status_code == 404
    for data in (
        {"action": "assign_me"},
        {"action": "message", "message-body": "Hello"},
        {"action": "extend", "extension-days": "1", "extension-reason": "x"},
    ):
        assert officer_client.post(url, data).status_code == 404
    theirs.refresh_from_db()
    assert theirs.assigned_to is None and not theirs.messages.exists()
    assert (
        officer_client.get(reverse("cases_admin_queue"), {"office": theirs.office_id}).status_code
        == 404
    )


def test_assign_message_and_decision_document(officer_client, officer, office_a):
    case = case_due(office_a, timezone.localdate() + timedelta(days=5))
    url = reverse("cases_admin_case", args=[case.pk])
    assert officer_client.get(url).status_code == 200
    officer_client.post(url, {"action": "assign_me"})
    case.refresh_from_db()
    assert case.assigned_to == officer
    officer_client.post(url, {"action": "message", "message-body": "Please bring the original."})
    assert case.messages.get().from_office
    officer_client.post(
        url,
        {
            "action": "document",
            "decision": "1",
            "document-file": SimpleUploadedFile("decision.pdf", PDF, "application/pdf"),
        },
    )
    document = case.documents.get()
    assert document.kind == CaseDocument.Kind.DECISION
    # The resident opens it from the case page; the officer can too.
    assert (
        officer_client.get(reverse("cases:document", args=[case.pk, document.pk])).status_code
        == 200
    )
    # A wrongly typed upload is refused.
    response = officer_client.post(
        url,
        {
            "action": "document",
            "document-file": SimpleUploadedFile("x.pdf", b"not a pdf at all", "application/pdf"),
        },
    )
    assert response.status_code == 200 and case.documents.count() == 1


def test_extension_within_the_rule_only(officer_client, office_a):
    service = ServiceFactory(office=office_a, extension_max_days=5)
    case = CaseFactory(service=service, received_on=date(2026, 3, 2))
    services.refresh_due_date(case)
    case.refresh_from_db()
    before = case.due_date
    url = reverse("cases_admin_case", args=[case.pk])
    officer_client.post(
        url, {"action": "extend", "extension-days": "3", "extension-reason": "site visit"}
    )
    case.refresh_from_db()
    assert case.due_date > before and CaseExtension.objects.get(case=case).days == 3
    response = officer_client.post(
        url, {"action": "extend", "extension-days": "3", "extension-reason": "more"}, follow=True
    )
    assert "at most 5 working days" in response.content.decode()
    assert CaseExtension.objects.filter(case=case).count() == 1
    no_rule = CaseFactory(service=ServiceFactory(office=office_a), received_on=date(2026, 3, 2))
    with pytest.raises(services.CaseError):
        services.grant_extension(no_rule, 1, "x", by=None)


def test_dashboard_and_public_on_time_page(officer_client, office_a, client):
    today = timezone.localdate()
    service = ServiceFactory(office=office_a, name_en="Proof of address")
    first = today.replace(day=1)
    CaseFactory(
        service=service,
        received_on=first,
        decided_on=first,
        due_date=first,
        state=CaseState.APPROVED,
    )
    CaseFactory(
        service=service,
        received_on=first,
        decided_on=today,
        due_date=first - timedelta(days=1),
        state=CaseState.REJECTED,
    )
    rows = services.office_dashboard([office_a], today=today)
    assert rows[0]["received"] == 2 and rows[0]["on_time"] == 1 and rows[0]["late"] == 1
    assert officer_client.get(reverse("cases_admin_dashboard")).status_code == 200
    page = client.get(reverse("cases:on_time")).content.decode()
    assert "Proof of address" in page and "50%" in page


def test_residents_cannot_reach_the_officer_screens(resident_client):
    for name in ("cases_admin_queue", "cases_admin_dashboard"):
        assert resident_client.get(reverse(name)).status_code in {302, 403}

"""Form fields as a screen reader meets them (includes/field.html).

A radio or checkbox group is a fieldset whose legend asks the question, with its hint and
errors tied to the group; a single input keeps its <label for> exactly as before. Also the
waitlist page, which must not offer an accept button for an offer whose time has passed.
"""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

import pytest
from bs4 import BeautifulSoup
from pytest_django.asserts import assertInHTML

from health.booking.models import WaitlistEntry, WaitlistStatus
from tests.factories import UserFactory
from tests.health.booking.factories import (
    AppointmentFactory,
    ClinicFactory,
    DependantFactory,
    ServiceFactory,
    SlotFactory,
    tomorrow_at,
)

pytestmark = pytest.mark.django_db

QUESTION = "Who is the appointment for?"


def new_slot(hour=10, capacity=2):
    service = ServiceFactory()
    clinic = ClinicFactory(services=[service])
    return SlotFactory(clinic=clinic, service=service, start=tomorrow_at(hour), capacity=capacity)


@pytest.fixture
def slot():
    return new_slot()


@pytest.fixture
def child(resident):
    return DependantFactory(owner=resident, name="Little Chan")


def soup_of(response):
    assert response.status_code == 200
    return BeautifulSoup(response.content.decode(), "html.parser")


def person_group(soup):
    """The fieldset whose legend is the question, and the radios inside it."""
    [fieldset] = [
        f
        for f in soup.find_all("fieldset")
        if f.legend and f.legend.get_text(" ", strip=True) == QUESTION
    ]
    return fieldset, fieldset.find_all("input", attrs={"type": "radio", "name": "person"})


def assert_every_label_names_an_input(soup):
    assert not soup.find_all("label", attrs={"for": ""}), "a <label for=''> names nothing"
    for label in soup.find_all("label", attrs={"for": True}):
        assert soup.find(id=label["for"]), f"<label for={label['for']!r}> has no target"


@pytest.mark.parametrize("view", ["booking:book", "booking:waitlist_join"])
def test_who_is_it_for_is_a_fieldset_with_the_question_as_legend(
    resident_client, slot, child, view
):
    soup = soup_of(resident_client.get(reverse(view, args=[slot.pk])))
    fieldset, radios = person_group(soup)
    assert [radio["value"] for radio in radios] == ["self", str(child.pk)]
    # Every radio in the page's form is inside the group, each named by its own label.
    assert len(soup.find_all("input", attrs={"name": "person"})) == len(radios)
    for radio in radios:
        label = radio.find_parent("label")
        assert label["for"] == radio["id"]
    assert "Little Chan" in fieldset.get_text()
    assert "field" in fieldset["class"]  # spaced like the other fields
    assert_every_label_names_an_input(soup)


def test_a_group_error_is_tied_to_the_group(resident_client, slot):
    stranger_child = DependantFactory()
    response = resident_client.post(
        reverse("booking:book", args=[slot.pk]), {"person": str(stranger_child.pk)}
    )
    soup = soup_of(response)
    fieldset, radios = person_group(soup)
    assert "field--error" in fieldset["class"]
    described_by = fieldset["aria-describedby"].split()
    errors = [soup.find(id=id_) for id_ in described_by]
    assert all(errors)
    assert any("Select a valid choice" in error.get_text() for error in errors)
    assert all(error.find_parent("fieldset") is fieldset for error in errors)
    assert radios and all(radio["aria-invalid"] == "true" for radio in radios)
    assert_every_label_names_an_input(soup)


def test_error_summary_links_into_the_group(resident_client, slot):
    stranger_child = DependantFactory()
    response = resident_client.post(
        reverse("booking:book", args=[slot.pk]), {"person": str(stranger_child.pk)}
    )
    soup = soup_of(response)
    fieldset, _radios = person_group(soup)
    [link] = [
        a for a in soup.select(".error-summary a") if a.get_text(strip=True).startswith(QUESTION)
    ]
    target_id = link["href"].removeprefix("#")
    assert target_id, f"the summary links to {link['href']!r}, the top of the page"
    target = soup.find(id=target_id)
    assert target is not None, f"the summary links to {link['href']!r}, which is not on the page"
    assert target is fieldset or target.find_parent("fieldset") is fieldset


def test_single_inputs_render_as_before(resident_client):
    html = resident_client.get(reverse("profile_edit")).content.decode()
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.find("fieldset")
    assertInHTML(
        '<div class="field"><label for="id_display_name">Display name'
        ' <span class="field__optional">(optional)</span></label>'
        '<p class="field__hint" id="id_display_name_helptext">How the portal addresses you.</p>'
        '<input type="text" name="display_name" maxlength="80" autocomplete="name"'
        ' aria-describedby="id_display_name_helptext" id="id_display_name"></div>',
        html,
    )
    assertInHTML(
        '<div class="field field--checkbox">'
        '<input type="checkbox" name="notify_email" id="id_notify_email" checked>'
        '<label for="id_notify_email">Send me e-mail</label></div>',
        html,
    )
    assert_every_label_names_an_input(soup)


def test_single_input_error_is_linked_as_before(resident_client):
    response = resident_client.post(
        reverse("profile_edit"),
        {"display_name": "x" * 200, "preferred_language": "en", "notify_email": "on"},
    )
    soup = soup_of(response)
    field = soup.find(id="id_display_name")
    assert field["aria-describedby"].split() == [
        "id_display_name_helptext",
        "id_display_name_error",
    ]
    assert "at most 80 characters" in soup.find(id="id_display_name_error").get_text()
    assert soup.select_one('.error-summary a[href="#id_display_name"]')


def test_offer_past_its_time_shows_as_expired_without_accept(resident_client, resident):
    now = timezone.now()
    lapsed = WaitlistEntry.objects.create(
        slot=new_slot(),
        resident=resident,
        status=WaitlistStatus.OFFERED,  # the sweep has not run yet
        offered_at=now - timedelta(hours=3),
        offer_expires_at=now - timedelta(minutes=1),
    )
    soup = soup_of(resident_client.get(reverse("booking:waitlist")))
    entry = soup.find(attrs={"aria-labelledby": f"entry-{lapsed.pk}"})
    assert entry.select_one(".tag").get_text(strip=True) == "Offer expired"
    assert "Waiting" not in entry.get_text()
    assert "A place is free for you" not in entry.get_text()
    assert not entry.find("button", string="Accept the place")
    assert not soup.find("form", action=reverse("booking:waitlist_accept", args=[lapsed.pk]))


def test_open_offer_and_waiting_entry_are_unchanged(resident_client, resident):
    now = timezone.now()
    open_offer = WaitlistEntry.objects.create(
        slot=new_slot(10),
        resident=resident,
        status=WaitlistStatus.OFFERED,
        offered_at=now,
        offer_expires_at=now + timedelta(hours=1),
    )
    waiting = WaitlistEntry.objects.create(slot=new_slot(11), resident=resident)
    soup = soup_of(resident_client.get(reverse("booking:waitlist")))
    assert soup.find("form", action=reverse("booking:waitlist_accept", args=[open_offer.pk]))
    waiting_entry = soup.find(attrs={"aria-labelledby": f"entry-{waiting.pk}"})
    assert waiting_entry.select_one(".tag").get_text(strip=True) == "Waiting"
    assert waiting_entry.find("form", action=reverse("booking:waitlist_leave", args=[waiting.pk]))


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_group_and_lapsed_offer_in_the_browser(page):
    """At 360 px and through axe: the waitlist question as a group, with and without an error,
    and the waitlist page with an offer that has run out."""
    resident = UserFactory(email="wai@example.org")
    DependantFactory(owner=resident, name="Little Chan")
    full = new_slot(capacity=1)
    AppointmentFactory(slot=full)
    now = timezone.now()
    lapsed = WaitlistEntry.objects.create(
        slot=new_slot(11),
        resident=resident,
        status=WaitlistStatus.OFFERED,
        offered_at=now - timedelta(hours=3),
        offer_expires_at=now - timedelta(minutes=1),
    )
    page.sign_in(resident)

    page.visit(reverse("booking:waitlist_join", args=[full.pk]))
    page.assert_fits()
    group = page.get_by_role("group", name=QUESTION)
    assert group.get_by_role("radio").count() == 2
    assert group.get_by_role("radio", name="Little Chan (Child)").count() == 1

    # A choice the form does not offer comes back as an error on the group.
    page.eval_on_selector("#id_person_0", "radio => { radio.value = 'nobody'; }")
    page.click("button:has-text('Join the waitlist')")
    page.wait_for_selector(".error-summary")
    page.check_accessibility()
    page.assert_fits()
    assert "Select a valid choice" in group.inner_text()

    page.visit(reverse("booking:waitlist"))
    page.assert_fits()
    entry = page.locator(f"[aria-labelledby='entry-{lapsed.pk}']")
    assert entry.locator(".tag").inner_text() == "Offer expired"
    assert entry.get_by_role("button").count() == 0

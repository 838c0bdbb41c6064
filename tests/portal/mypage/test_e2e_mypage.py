"""My page in a browser: every panel styled through the media it declares, at 360 px."""

import pytest

from tests.factories import UserFactory
from tests.health.booking.factories import (
    AppointmentFactory,
    ClinicFactory,
    DependantFactory,
    ServiceFactory,
    SlotFactory,
    tomorrow_at,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_appointments_panel_is_styled_by_its_own_stylesheet(page):
    resident = UserFactory()
    service = ServiceFactory()
    clinic = ClinicFactory(services=[service])
    for hour, dependant in ((9, None), (11, DependantFactory(owner=resident))):
        slot = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(hour))
        AppointmentFactory(resident=resident, slot=slot, dependant=dependant)
    page.sign_in(resident)  # lands on My page; axe-core has checked it
    page.assert_fits()
    stylesheets = page.evaluate(
        "[...document.querySelectorAll('head link[rel=stylesheet]')].map(l => l.href)"
    )
    assert sum(href.endswith("/static/booking/panel.css") for href in stylesheets) == 1
    panel = page.locator("#panel-appointments")
    assert panel.locator(".appointment-list__item").count() == 2
    assert panel.locator(".tag").first.inner_text() == "Booked"
    # The rules of booking/panel.css apply: the actions sit in a row, the last item has no line.
    actions = panel.locator(".booking-panel__actions")
    assert actions.evaluate("e => getComputedStyle(e).display") == "flex"
    last = panel.locator(".appointment-list__item").last
    assert last.evaluate("e => getComputedStyle(e).borderBottomStyle") == "none"
    # And the component styles (components.css) too: a tag has its border.
    assert panel.locator(".tag").first.evaluate("e => getComputedStyle(e).borderTopStyle") == (
        "solid"
    )

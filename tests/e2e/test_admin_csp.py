"""The back office still works under the Content-Security-Policy (issue 10 §7): Wagtail's own
scripts run on the dashboard, in the page editor and in a snippet chooser. The `page` fixture
fails the test on any policy refusal the browser reports."""

from wagtail.models import Site

import pytest

from portal.accounts import roles
from tests.factories import CommunityFactory, StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SECRET = "JBSWY3DPEHPK3PXP"


def test_the_admin_and_the_page_editor_run_their_scripts(page):
    editor = StaffFactory(groups=[roles.EDITORS], mfa=True, is_superuser=True, is_staff=True)
    page.sign_in(editor, totp_secret=SECRET)
    # The sidebar is drawn by Wagtail's JavaScript: without it the menu is empty.
    page.wait_for_selector("#wagtail-sidebar nav a", state="attached")

    home = Site.objects.get(is_default_site=True).root_page
    page.goto(f"{page.base_url}/admin/pages/{home.pk}/edit/")
    page.wait_for_selector("#wagtail-sidebar nav a", state="attached")
    # Tabs switch by script (Stimulus controllers): the "Promote" panel appears on click.
    page.click("a[role=tab][href='#tab-promote']")
    page.wait_for_selector("#tab-promote:not([hidden])")
    # The save menu opens by script too.
    page.click("[data-w-dropdown-target='toggle'][aria-label]")
    page.wait_for_selector(
        "[data-w-dropdown-target='content'] button, [data-w-dropdown-target='content'] a"
    )


def test_a_snippet_chooser_opens_and_chooses(page):
    CommunityFactory(name_en="North Point", code="north-point")
    admin = StaffFactory(is_superuser=True, is_staff=True, mfa=True)
    page.sign_in(admin, totp_secret=SECRET)
    page.goto(f"{page.base_url}/admin/snippets/accounts/street/add/")
    page.click(
        "#id_community-chooser button.action-choose, "
        "[data-chooser-action-choose], .chooser__choose-button"
    )
    page.wait_for_selector(".modal-content a.snippet-choice, .modal-content td a")
    page.click(".modal-content td a")
    page.wait_for_selector(".chooser__title:has-text('North Point')", state="visible")

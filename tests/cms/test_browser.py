"""Browser tests of the public site (Playwright + Chromium, 360 px wide, axe-core on the way).

1. An editor writes an announcement for one street and submits it; a reviewer publishes it; a
   resident of that street sees it on My page, a resident of another street does not.
2. axe-core finds no violations on the public pages in all three languages.
"""

from django.urls import reverse

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from cms.models import AnnouncementPage, StandardPage
from tests.cms import factories as cms
from tests.factories import StaffFactory, StreetFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def staff(**role):
    user = StaffFactory(**role)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


def living_on(street):
    user = UserFactory()
    user.profile.street = street
    user.profile.save()
    return user


def footer_action(page, name="", label=""):
    """Click a button of the editor's footer action menu, opening its dropdown if needed."""
    if label:
        button = page.locator("footer").get_by_role("button", name=label, exact=True)
    else:
        button = page.locator(f'footer button[name="{name}"]')
    if not button.is_visible():
        page.locator("footer .w-dropdown-button button:has(.w-sr-only)").first.click()
    button.click()


def test_an_announcement_for_one_street_reaches_that_streets_residents(page):
    street, other = StreetFactory(name_en="Praya Road"), StreetFactory(name_en="Pier Street")
    index = cms.index_page()
    editor, editor_secret = staff(editor=True)
    reviewer, reviewer_secret = staff(reviewer=True)
    neighbour, stranger = living_on(street), living_on(other)

    # The editor writes it for one street and submits it for review.
    page.sign_in(editor, totp_secret=editor_secret)
    page.goto(
        page.base_url
        + reverse("wagtailadmin_pages:add", args=["cms", "announcementpage", index.pk])
    )
    page.fill("#id_title", "Praya Road water main works")
    page.fill("#id_summary", "The water is off on Praya Road on Saturday night.")
    page.check('input[name="target"][value="streets"]')
    page.check(f'input[name="streets"][value="{street.pk}"]')
    footer_action(page, "action-submit")
    page.wait_for_url("**/admin/pages/**")
    announcement = AnnouncementPage.objects.get(title="Praya Road water main works")
    assert not announcement.live
    assert announcement.current_workflow_state is not None

    # The reviewer approves it, which publishes it (the workflow's last step).
    page.context.clear_cookies()
    page.sign_in(reviewer, totp_secret=reviewer_secret)
    page.goto(page.base_url + reverse("wagtailadmin_pages:edit", args=[announcement.pk]))
    footer_action(page, label="Approve and Publish")
    page.wait_for_url("**/admin/pages/**")
    announcement.refresh_from_db()
    assert announcement.live

    # A resident of that street sees it on My page; a resident of another street does not.
    page.context.clear_cookies()
    page.sign_in(neighbour)
    panel = page.inner_text("#panel-announcements")
    assert "Praya Road water main works" in panel
    page.check_accessibility()
    page.context.clear_cookies()
    page.sign_in(stranger)
    assert "Praya Road water main works" not in page.inner_text("#panel-announcements")


def test_public_pages_have_no_axe_violations_in_three_languages(page):
    cms.announcement(
        title="全區暫停供水",
        summary="星期六全區暫停供水。",
        translations={"zh-hans": "全区暂停供水", "en": "Water off in the whole district"},
        urgent=True,
    )
    cms.announcement(title="只有中文的公告", slug="only-chinese", summary="只有中文。")
    StandardPage.objects.all().delete()
    cms.standard_page("無障礙聲明", "accessibility", show_in_footer=True)
    paths = [
        "/",
        cms.index_page().url,
        AnnouncementPage.objects.get(slug="a-1", locale__language_code="zh-hant").url,
        "/announcements/only-chinese/",  # the fallback in zh-Hans and en
        "/accessibility/",
        reverse("cms:search") + "?q=長者",
    ]
    for language in ("zh-hant", "zh-hans", "en"):
        page.visit("/")
        page.use_language(language)
        for path in paths:
            page.visit(path)
            page.assert_fits()
            assert page.evaluate("document.documentElement.lang") == language

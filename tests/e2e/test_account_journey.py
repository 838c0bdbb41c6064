"""Issue 12's "Done when": a resident downloads their data, checks what is in the archive, then
closes the account and cannot sign in again; staff land in the admin."""

import json
import zipfile

from django.core import mail

import pytest

from portal.accounts import roles
from tests.factories import StaffFactory, UserFactory
from tests.portal.notifications.factories import MessageFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_resident_downloads_their_data_then_closes_the_account(page, settings, tmp_path):
    settings.ACCOUNTS_EXPORT_ROOT = tmp_path / "exports"
    resident = UserFactory(email="mei@example.org")
    resident.profile.display_name = "Mei"
    resident.profile.save()
    MessageFactory(user=resident, subject="Welcome to the portal", body="Hello")

    page.sign_in(resident)
    page.assert_fits()
    page.click("#panel-profile >> text=Account settings")
    page.wait_for_url("**/accounts/settings/")
    page.check_accessibility()
    page.assert_fits()

    page.click("text=Download all my data")
    page.wait_for_url("**/accounts/data/")
    page.check_accessibility()
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=Ready to download")
    page.check_accessibility()
    page.assert_fits()
    with page.expect_download() as download_info:
        page.click("text=Download my data")
    path = tmp_path / "my-data.zip"
    download_info.value.save_as(path)
    archive = zipfile.ZipFile(path)
    assert {"profile/profile.json", "inbox/messages.json", "appointments/appointments.json"} <= set(
        archive.namelist()
    )
    assert json.loads(archive.read("profile/profile.json"))["display_name"] == "Mei"
    subjects = [m["subject"] for m in json.loads(archive.read("inbox/messages.json"))]
    assert "Welcome to the portal" in subjects

    # Close the account: the password again, then what happens, then the button.
    page.visit("/accounts/settings/")
    page.click("text=Close my account")
    page.wait_for_url("**/accounts/close/")
    page.assert_fits()
    page.fill("#id_password", "correct horse battery")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/close/confirm/")
    page.check_accessibility()
    page.assert_fits()
    assert "profile are erased" in page.inner_text("main")
    mail.outbox.clear()
    page.click("text=Close my account now")
    page.wait_for_url("**/accounts/closed/")
    page.check_accessibility()
    assert [m.to for m in mail.outbox] == [["mei@example.org"]]

    # The old password no longer signs in.
    page.visit("/accounts/login/")
    page.fill("#id_login", "mei@example.org")
    page.fill("#id_password", "correct horse battery")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary")
    page.check_accessibility()
    assert "/accounts/login/" in page.url


def test_staff_land_in_the_admin(page):
    secret = "JBSWY3DPEHPK3PXP"
    editor = StaffFactory(groups=[roles.EDITORS], mfa=True)
    page.sign_in(editor, totp_secret=secret)
    assert page.url.endswith("/admin/")
    assert "What you can do today" in page.inner_text("main")
    page.assert_admin_fits()

"""Take the README's screenshots from a running portal (`make run` in another terminal).

    .venv/bin/python scripts/screenshots.py [http://127.0.0.1:8000]

Signs in as the first demo resident, then as the demo nurse and the demo case officer
(password and the demo TOTP secret), and saves phone-sized PNGs under docs/screenshots/.
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RESIDENT = ("chan.taiman@demo.district.example", "demo-district-2026")
NURSE = ("nurse@demo.district.example", "demo-district-2026")
OFFICER = ("officer@demo.district.example", "demo-district-2026")


def totp_code():
    """The demo staff accounts' current authenticator code (the secret load_demo prints),
    computed as the browser tests compute theirs."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import django

    django.setup()
    from portal.demo.management.commands.load_demo import DEMO_TOTP_SECRET
    from tests.browser import current_totp_code

    return current_totp_code(DEMO_TOTP_SECRET)


def staff_page(browser, account):
    """A phone-sized page signed in as a demo staff member (English, with the TOTP step)."""
    staff = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    staff.goto(BASE + "/accounts/login/")
    staff.select_option("#language-select", "en")
    staff.click("form.language-switcher button")
    staff.wait_for_selector('html[lang="en"]')
    staff.fill("#id_login", account[0])
    staff.fill("#id_password", account[1])
    staff.click("main form button[type=submit]")
    staff.wait_for_url("**/accounts/2fa/authenticate/")
    staff.fill("#id_code", totp_code())
    staff.keyboard.press("Enter")
    staff.wait_for_url(lambda url: "/accounts/" not in url)  # where they work (issue 12)
    return staff


def first_link(page, path, selector):
    """Open `path`, then the first link `selector` finds there (demo ids are not fixed)."""
    page.goto(BASE + path)
    page.goto(BASE + page.locator(selector).first.get_attribute("href"))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=1
        ).new_page()
        page.goto(BASE + "/")
        page.screenshot(path=OUT / "home-zh-hant.png", full_page=True)
        page.goto(BASE + "/accounts/login/")
        page.fill("#id_login", RESIDENT[0])
        page.fill("#id_password", RESIDENT[1])
        page.click("main form button[type=submit]")
        page.wait_for_url("**/me/")
        page.screenshot(path=OUT / "mypage-zh-hant.png", full_page=True)
        page.select_option("#language-select", "en")
        page.click("form.language-switcher button")
        page.wait_for_selector('html[lang="en"]')
        page.screenshot(path=OUT / "mypage-en.png", full_page=True)
        page.goto(BASE + "/clinics/service/vaccination/")
        page.screenshot(path=OUT / "booking-clinics-en.png", full_page=True)
        page.goto(BASE + "/health/")
        page.screenshot(path=OUT / "health-record-en.png", full_page=True)
        page.goto(BASE + "/health/results/")
        page.screenshot(path=OUT / "health-results-en.png", full_page=True)

        first_link(page, "/services/cases/", "main a[href*='/services/cases/']")
        page.screenshot(path=OUT / "case-en.png", full_page=True)
        page.goto(BASE + "/card/")
        page.screenshot(path=OUT / "card-en.png", full_page=True)
        first_link(page, "/transit/", "main a[href*='/transit/stops/']")
        page.screenshot(path=OUT / "transit-stop-en.png", full_page=True)

        visitor = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        first_link(visitor, "/?lang=en", "main a[href*='/announcements/'][href$='/']")
        visitor.screenshot(path=OUT / "announcement-en.png", full_page=True)

        staff = staff_page(browser, NURSE)
        staff.goto(BASE + "/admin/booking/day/")
        staff.screenshot(path=OUT / "staff-day-list-en.png", full_page=True)
        officer = staff_page(browser, OFFICER)
        officer.goto(BASE + "/admin/cases/")
        officer.screenshot(path=OUT / "officer-queue-en.png", full_page=True)
        browser.close()
    print(f"Screenshots written to {OUT}")


if __name__ == "__main__":
    main()

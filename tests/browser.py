"""Browser-test fixtures, loaded for the whole suite from tests/conftest.py.

Playwright drives Debian's Chromium against pytest-django's live server. axe-core (from
node_modules, installed by `make test`) runs on every page a test visits and any violation
fails the test. Browser tests live with the feature they test (tests/e2e for the foundation,
tests/health/... for health); mark their modules with `pytest.mark.e2e` so the embedded smoke
run can leave them out.
"""

import json
import os
import time
from pathlib import Path

import pytest

from tests.factories import DEFAULT_PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; `make test` installs it", pytrace=False)
    if not AXE.exists():
        pytest.fail(f"axe-core not found at {AXE}; `make test` runs npm ci", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class Page:
    """A thin wrapper: every navigation can be followed by an axe-core check."""

    def __init__(self, page, base_url):
        self.page = page
        self.base_url = base_url

    def __getattr__(self, name):
        return getattr(self.page, name)

    def visit(self, path):
        self.page.goto(self.base_url + path)
        self.check_accessibility()

    def check_accessibility(self):
        # axe is put in every document by the context's init script (a <script> tag added
        # here would be inline code, which the Content-Security-Policy rightly refuses).
        result = self.page.evaluate(
            """async () => {
                const r = await axe.run(document, {resultTypes: ['violations']});
                return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
            }"""
        )
        assert result == [], (
            f"axe-core violations on {self.page.url}:\n{json.dumps(result, indent=2)}"
        )

    def admin_message_shown(self, text=None):
        """Wait for Wagtail's message and for its fade-in to end: axe measures colour contrast
        of what is on screen, and a half-transparent banner mid-fade is not what staff read."""
        self.page.wait_for_selector(f".messages >> text={text}" if text else ".messages li")
        # Polled from here: wait_for_function evaluates its predicate with eval(), which the
        # admin's Content-Security-Policy (no 'unsafe-eval') refuses.
        for _attempt in range(100):
            opacity = self.page.evaluate(
                "getComputedStyle(document.querySelector('.messages ul')).opacity"
            )
            if opacity == "1":
                return
            self.page.wait_for_timeout(50)
        raise AssertionError("Wagtail's message did not finish fading in")

    def use_language(self, language="en"):
        """Pick the interface language with the switcher in the header."""
        self.page.select_option("#language-select", language)
        self.page.click("form.language-switcher button")
        self.page.wait_for_selector(f'html[lang="{language}"]')

    def sign_in(self, user, password=DEFAULT_PASSWORD, language="en", totp_secret=None):
        """Sign in through the login form and land where the user works: My page for a
        resident, the back office (/admin/) for staff. Staff give `totp_secret`: the
        authenticator code (allauth's second stage) is then typed and sent by keyboard."""
        self.visit("/accounts/login/")
        self.use_language(language)
        self.page.fill("#id_login", user.email)
        self.page.fill("#id_password", password)
        self.page.click("main form button[type=submit]")
        if totp_secret:
            self.page.wait_for_url("**/accounts/2fa/authenticate/")
            self.check_accessibility()
            self.assert_fits()
            self.page.focus("#id_code")
            self.page.keyboard.type(current_totp_code(totp_secret))
            self.page.keyboard.press("Enter")
        from portal.accounts.roles import is_staff_member

        self.page.wait_for_url("**/admin/" if is_staff_member(user) else "**/me/")

    def assert_fits(self, width=360):
        scroll_width = self.page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, (
            f"{self.page.url} scrolls sideways at {width}px ({scroll_width}px)"
        )

    def assert_admin_fits(self, width=360):
        """No sideways scrolling at 360 px, and nothing cut off either: Wagtail's <main> hides
        what overflows it, so a too-wide list would pass the page-level check unseen."""
        self.assert_fits(width)
        main = self.page.evaluate(
            "(() => { const m = document.querySelector('main');"
            " return [m.scrollWidth, m.clientWidth]; })()"
        )
        assert main[0] <= main[1], (
            f"{self.page.url}: content is {main[0]}px wide in a {main[1]}px <main>"
        )


def current_totp_code(secret):
    """The code an authenticator app shows now, computed with allauth's own HOTP functions.
    Near the end of a period the code would expire in flight: wait for the next one."""
    from allauth.mfa import app_settings as mfa_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    period = mfa_settings.TOTP_PERIOD
    if period - time.time() % period < 3:
        time.sleep(period - time.time() % period + 0.1)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


@pytest.fixture
def page(browser, live_server, settings, request):
    # The server thread reads settings per request, so a test can see e-mails in mail.outbox.
    settings.ALLOWED_HOSTS = ["*"]
    context = browser.new_context(viewport={"width": 360, "height": 780}, locale="en-GB")
    context.add_init_script(path=str(AXE))
    pw_page = context.new_page()
    # Whatever a page does, the Content-Security-Policy must not have to refuse it: a refusal
    # is a script or style that does not run, i.e. a broken page.
    csp_refusals = []
    pw_page.on(
        "console",
        lambda message: (
            csp_refusals.append(f"{pw_page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    pw_page.set_default_timeout(15_000)
    yield Page(pw_page, live_server.url)
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        # Keep what the browser showed, for whoever reads the failure.
        out = Path(os.environ.get("PORTAL_VAR_DIR", "var")) / "e2e-failures"
        out.mkdir(parents=True, exist_ok=True)
        pw_page.screenshot(path=str(out / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert csp_refusals == [], "Content-Security-Policy refusals:\n" + "\n".join(csp_refusals)

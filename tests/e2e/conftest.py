"""Browser tests: one system Chromium per session, a fresh context (cookies, storage) per test.

Chromium comes from the system (`apt-get install chromium`, done by scripts/test.sh);
Playwright drives it without downloading a browser of its own. Screenshots of the
pages go to test-artifacts/screenshots/ for people to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, TEST_PASSWORD, TEST_TOTP_SECRET, totp_code

CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
#: axe-core, vendored (tests/e2e/vendor/axe-core/README.md): added to every test context as an
#: init script, so the hub's CSP (`script-src 'self'`) is not loosened for it.
AXE = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"
#: The rules the portal keeps: WCAG 2.0 and 2.1, levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """The system Chromium, launched once for the whole run."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; run the suite with `make test`")
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


def _context(browser, live_server, viewport, **options):
    context = browser.new_context(
        base_url=live_server, viewport=viewport, locale="id-ID", **options
    )
    context.set_default_timeout(10_000)
    context.add_init_script(path=str(AXE))
    return context


def _watch(page) -> list[str]:
    """Collect console errors: a CSP violation or a script error fails the test."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    """A desktop-sized page in a fresh browser context."""
    context = _context(browser, live_server, DESKTOP)
    page = context.new_page()
    problems = _watch(page)
    yield page
    context.close()
    assert not [p for p in problems if "Content Security Policy" in p], problems


@pytest.fixture
def phone(browser, live_server) -> Iterator[object]:
    """A phone-sized page (390 x 844, touch) in a fresh browser context."""
    context = _context(browser, live_server, PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    problems = _watch(page)
    yield page
    context.close()
    assert not [p for p in problems if "Content Security Policy" in p], problems


def axe_violations(page) -> list[dict]:
    """What axe-core (WCAG 2.1 A and AA rules) finds wrong on the page as it is now."""
    page.wait_for_load_state()
    if not page.evaluate("typeof axe !== 'undefined'"):
        # A context a test made itself, without the init script: axe added now (through
        # Playwright's evaluate, which the page's CSP does not govern).
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
            }));
        }""",
        AXE_TAGS,
    )
    return result


def check_accessibility(page, name: str = "") -> None:
    """Fail on any axe-core violation of the page, naming the rules and elements."""
    violations = axe_violations(page)
    assert not violations, f"axe-core on {name or page.url}: {violations}"


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/, after checking the
    page with axe-core: every page a browser test looks at is also checked for WCAG 2.1 AA."""
    check_accessibility(page, name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(
    page, email: str, password: str = TEST_PASSWORD, totp_secret: str = TEST_TOTP_SECRET
) -> None:
    """Sign in through the real form; an org_admin or auditor then types the app's code."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.locator("#password").fill(password)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_load_state()
    # Each code is taken once: a second sign-in within the same 30 s takes the next one,
    # which the hub accepts as one step of clock drift.
    for offset in (0, 1):
        if "/login/code" not in page.url:
            return
        page.locator("#code").fill(totp_code(totp_secret, offset))
        page.locator("form.form button[type=submit]").click()
        page.wait_for_load_state()


def no_horizontal_scroll(page) -> bool:
    """Whether the page fits the viewport's width."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture(autouse=True)
def _directory_as_the_file(restore_directory) -> None:
    """A browser test commits through a live server, the demo adds partners and focal points:
    afterwards the directory is partners.yaml's again (restore_directory's teardown)."""

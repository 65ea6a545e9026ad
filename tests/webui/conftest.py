"""Fixtures for the web UI tests: one Chromium per session, a fresh daemon and page per test.

Every page collects console errors and uncaught exceptions; a test fails on any it did not
expect (`page.allow_console(substring)` allows one kind, e.g. the 401 of a wrong password).
"""
import os

import pytest

from tests.support import Daemon, FakeUpstream, basic_config
from tests.webui import harness


@pytest.fixture(scope="session")
def browser():
    playwright, browser = harness.launch_browser()
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def upstreams():
    """Two stub providers: upstreams[0] behind downstream `alpha`, upstreams[1] free for the test."""
    fakes = [FakeUpstream(), FakeUpstream()]
    yield fakes
    for fake in fakes:
        fake.close()


@pytest.fixture
def daemon(tmp_path, upstreams):
    with Daemon(basic_config(tmp_path, harness.daemon_config(upstreams[0].url))) as running:
        yield running


@pytest.fixture
def admin(daemon):
    return harness.AdminApi(daemon.url)


class ConsoleWatch:
    """Console errors and page exceptions seen by one page, minus the allowed ones."""

    def __init__(self):
        self.errors = []
        self.allowed = []

    def add(self, text):
        self.errors.append(text)

    def unexpected(self):
        return [e for e in self.errors if not any(a in e for a in self.allowed)]


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    yield ctx
    ctx.close()


@pytest.fixture
def page(context, daemon):
    # Depends on `daemon` so the daemon outlives the page: a stream cut by a stopped daemon
    # must not show up as a console error of the test.
    page = context.new_page()
    page.set_default_timeout(5000)
    watch = ConsoleWatch()
    page.on("console", lambda msg: watch.add("console.%s: %s" % (msg.type, msg.text)) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: watch.add("page error: %s" % exc))
    page.allow_console = watch.allowed.append
    page.console_watch = watch
    yield page
    assert watch.unexpected() == [], "console errors in the web UI"


@pytest.fixture
def signed_in(page, daemon):
    """The page, signed in to the daemon's web UI."""
    page.goto(daemon.url + "/")
    page.fill("#login-password", harness.PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#shell:not([hidden])")
    return page


@pytest.fixture(scope="session")
def artifacts():
    os.makedirs(harness.ARTIFACTS, exist_ok=True)
    return harness.ARTIFACTS

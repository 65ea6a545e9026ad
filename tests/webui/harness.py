"""Browser-test harness: headless Debian Chromium driven by Playwright, against a real daemon.

Chromium comes from apt (`chromium`), never from `playwright install` (no downloads here).
`launch_browser()` skips with the reason when either piece is missing, except in CI (CI=true),
where a missing browser is a failure: .ci/run installs it, so a skip there would hide a broken setup.
"""
import json
import os
import urllib.error
import urllib.request

import pytest

from tests.support import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = os.path.join(ROOT, "tests", "artifacts")
PASSWORD = "secret-pass"
TABS = ("dashboard", "downstreams", "aliases", "rules", "settings", "logs", "about")


def missing(reason):
    """Skip with `reason` on a developer machine; fail in CI (CI=true), where .ci/run installs both."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("CI=true but " + reason, pytrace=False)
    pytest.skip(reason)


def launch_browser():
    """(playwright, browser); skips (fails in CI) when Chromium or Playwright is not installed."""
    if not os.path.exists(CHROMIUM):
        missing("browser tests need Debian's chromium at %s (apt-get install chromium chromium-driver)" % CHROMIUM)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("browser tests need Playwright for Python (pip install -r tests/requirements.txt)")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    return playwright, browser


def daemon_config(upstream_url, extra=""):
    """Config text: a password, payload capture, direct connections, and provider `alpha` (model-a)."""
    return ("admin_password: %s\ncapture_payloads: true\nproxy_mode: none\n%s"
            "downstreams:\n  - id: alpha\n    name: Alpha\n    base_url: %s\n    api_formats: [openai]\n"
            "    output_model_ids: [model-a]\n" % (PASSWORD, extra, upstream_url))


class AdminApi:
    """JSON calls to the daemon's admin API with the password as Bearer token."""

    def __init__(self, url, password=PASSWORD):
        self.url = url
        self.password = password

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": "Bearer " + self.password,
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode("utf-8", "replace")

    def get(self, path):
        status, body = self.call("GET", path)
        assert status == 200, (path, status, body)
        return body

    def post(self, path, body):
        status, answer = self.call("POST", path, body)
        assert status in (200, 201), (path, status, answer)
        return answer


def chat(url, model, headers=None):
    """One non-streamed OpenAI chat request through the gateway; returns (status, body)."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(url + "/v1/chat/completions", data=body, method="POST",
                                     headers=dict({"Content-Type": "application/json"}, **(headers or {})))
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def openai_answer(text="hello", model="model-a"):
    """A minimal OpenAI chat completion, with usage."""
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}}


def open_tab(page, tab):
    """Click a sidebar tab and wait until its section shows."""
    page.click("#nav-" + tab)
    page.wait_for_selector("#tab-%s:not([hidden])" % tab)


def wait_toast(page, text):
    """Wait for a toast containing `text` (success and error toasts alike)."""
    page.wait_for_selector(".toast:has-text(%r)" % text)


def expect(*args, **kwargs):
    """Playwright's auto-waiting `expect`, imported lazily so a missing Playwright is a skip, not an error."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)

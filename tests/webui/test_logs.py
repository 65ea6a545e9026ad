"""The Logs tab with a real daemon: across a restart (the new daemon's ids begin again at 1, and
its entries must still appear, not be taken for ones already shown), and the inspector on a
payload the gateway really captured."""
import json
import os
import socket
import urllib.request

from tests.support import ROOT, Daemon, write_config
from tests.webui import harness
from tests.webui.harness import expect, open_tab, wait_toast

FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sign_in_to_logs(page, url):
    page.goto(url + "/#logs")
    page.fill("#login-password", harness.PASSWORD)
    page.press("#login-password", "Enter")
    page.wait_for_selector(".log-status:has-text('Live')")


def test_after_a_restart_the_log_starts_over_and_shows_the_new_daemons_entries(context, tmp_path, upstreams):
    config = write_config(tmp_path, "bind_addr: 127.0.0.1:%d\ndb_path: %s\n%s" % (
        free_port(), os.path.join(str(tmp_path), "tresor.db"), harness.daemon_config(upstreams[0].url)))
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    # While the daemon is down the browser logs its refused connections; anything else is a bug.
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and "net::ERR_" not in msg.text and "Failed to load resource" not in msg.text else None)
    with Daemon(config) as first:
        sign_in_to_logs(page, first.url)
        for model in ("before-1", "before-2", "before-3"):
            harness.chat(first.url, model)
        page.wait_for_selector("#log-list > li:first-child:has-text('before-3')")
    page.wait_for_selector(".log-status:has-text('Reconnecting'), .log-status:has-text('Offline')")
    with Daemon(config) as second:
        harness.chat(second.url, "after-restart")  # id 1 again
        page.wait_for_selector("#log-list > li:first-child:has-text('after-restart')", timeout=15000)
        wait_toast(page, "Tresor restarted")
        page.wait_for_selector(".log-status:has-text('Live')")
        harness.chat(second.url, "after-2")
        page.wait_for_selector("#log-list > li:first-child:has-text('after-2')", timeout=1000)
        ids = page.eval_on_selector_all("#log-list > li", "rows => rows.map(r => r.dataset.id)")
        assert ids == ["2", "1"]
        page.close()
    assert problems == []


def test_the_inspector_shows_a_real_translated_stream_reassembled(signed_in, daemon, upstreams):
    page = signed_in
    with open(os.path.join(FIXTURES, "openai", "stream_text.sse"), encoding="utf-8") as f:
        events = [block + "\n\n" for block in f.read().split("\n\n") if block.strip()]
    upstreams[0].enqueue(200, events)  # Alpha speaks OpenAI Chat; the app speaks Anthropic Messages
    body = json.dumps({"model": "model-a", "max_tokens": 50, "stream": True,
                       "messages": [{"role": "user", "content": "Say *hello*"}]}).encode()
    request = urllib.request.Request(daemon.url + "/v1/messages", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "anthropic-version": "2023-06-01"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert b"Hello! How can I help?" not in resp.read()  # sent in pieces, as text_delta events
    open_tab(page, "logs")
    page.click("#log-list > li:first-child button")
    dialog = page.locator("dialog.modal")
    response = dialog.locator(".insp-section").nth(1)
    expect(response.locator(".msg-body")).to_have_text("Hello! How can I help?")
    assert "Stream incomplete" not in response.inner_text()
    request_view = dialog.locator(".insp-section").first
    expect(request_view.locator("em")).to_have_text("hello")  # the user's Markdown, rendered
    expect(dialog.locator(".insp-meta")).to_contain_text("Anthropic Messages → OpenAI Chat Completions")

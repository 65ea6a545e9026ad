"""Web UI details: screenshots of every tab (light, dark, phone), the inspector, the SSE
reassembler on the golden fixtures, safe Markdown, modals, error toasts and settings."""
import datetime
import json
import os

import pytest
from tests.support import ROOT
from tests.webui import harness
from tests.webui.harness import expect, open_tab, wait_toast

FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def seed(admin, daemon, upstreams):
    """Providers, alias groups, a rule and a few logged requests, so every tab has content."""
    admin.post("/api/downstreams", {"id": "beta", "name": "Anthropic", "base_url": upstreams[1].url,
                                    "api_formats": ["anthropic"], "output_model_ids": ["claude-sonnet-4-5", "claude-haiku-4-5"]})
    admin.post("/api/downstreams", {"id": "gemini", "name": "Google Gemini", "base_url": "https://generativelanguage.googleapis.com",
                                    "api_key": "AIza-0123456789abcdef", "api_formats": ["gemini"],
                                    "output_model_ids": ["gemini-2.5-pro", "gemini-2.5-flash"]})
    admin.post("/api/aliases/group", {"input_model_id": "coder", "options": [
        {"downstream_id": "beta", "output_model_id": "claude-sonnet-4-5"},
        {"downstream_id": "alpha", "output_model_id": "model-a"},
        {"downstream_id": "gemini", "output_model_id": "gemini-2.5-pro"}]})
    admin.post("/api/aliases/group", {"input_model_id": "^claude-.*", "is_regex": True, "announced_names": ["claude-any"],
                                      "options": [{"downstream_id": "beta", "output_model_id": "claude-haiku-4-5"}]})
    admin.post("/api/rules", {"name": "Tag local traffic", "pattern_path": "*", "match_format": ["openai"],
                              "pipeline_config": json.dumps([{"plugin_id": "custom_header", "config": {"headers": {"X-Team": "core"}}}]),
                              "is_enabled": True})
    upstreams[0].enqueue(200, harness.openai_answer())
    harness.chat(daemon.url, "model-a")
    harness.chat(daemon.url, "unknown-model")
    upstreams[0].enqueue(500, {"error": {"message": "boom"}})
    harness.chat(daemon.url, "model-a")


def fake_stats():
    """A week of usage for the dashboard screenshot (usage is flushed to the DB only once a minute)."""
    today = datetime.date.today()
    series = [{"bucket": (today - datetime.timedelta(days=6 - i)).isoformat(), "input_tokens": n * 1000,
               "output_tokens": n * 250, "request_count": n} for i, n in enumerate([12, 30, 18, 44, 25, 60, 38])]
    counters = lambda n, m: {"input_tokens": n, "output_tokens": m, "cache_creation_tokens": 0, "cache_read_tokens": n // 3,
                             "reasoning_tokens": 0, "request_count": n // 1000, "cache_hit_count": 3}
    return {"capture_payloads": True, "range": {"from": series[0]["bucket"], "to": series[-1]["bucket"]}, "bucket_size": "day",
            "total": {"input_tokens": 227000, "output_tokens": 56750, "requests": 227, "cache_hit_rate": 0.31},
            "models": [dict({"downstream_id": "beta", "model": "claude-sonnet-4-5"}, **counters(150000, 40000)),
                       dict({"downstream_id": "alpha", "model": "model-a"}, **counters(77000, 16750))],
            "providers": [dict({"downstream_id": "beta", "name": "Anthropic"}, **counters(150000, 40000)),
                          dict({"downstream_id": "alpha", "name": "Alpha"}, **counters(77000, 16750))],
            "ips": [dict({"client_ip": "127.0.0.1"}, **counters(227000, 56750))], "series": series}


def inspect_record():
    """A captured Anthropic exchange built from the golden fixtures (what /inspect returns)."""
    with open(os.path.join(FIXTURES, "anthropic", "request_tools_thinking.json")) as f:
        request = f.read()
    with open(os.path.join(FIXTURES, "anthropic", "stream_tool_use.sse")) as f:
        stream = f.read()
    return {"id": 1, "timestamp": "2025-03-01T12:00:00Z", "path": "/v1/messages", "method": "POST", "model": "coder",
            "resolved_model": "claude-sonnet-4-5", "downstream_id": "beta", "downstream_name": "Anthropic", "status": 200,
            "request_format": "anthropic", "downstream_format": "anthropic",
            "request": {"content_type": "application/json", "body": request},
            "response": {"content_type": "text/event-stream", "body": stream}}


def route_json(page, pattern, value):
    page.route(pattern, lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(value)))


@pytest.mark.timeout(240)
def test_screenshots_of_every_tab_in_light_dark_and_phone_width(signed_in, admin, daemon, upstreams, artifacts):
    page = signed_in
    seed(admin, daemon, upstreams)
    route_json(page, "**/api/stats?*", fake_stats())
    route_json(page, "**/api/logs/*/inspect", inspect_record())
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)
        page.reload()
        page.wait_for_selector("#shell:not([hidden])")
        assert page.evaluate("document.documentElement.dataset.theme") == theme
        for tab in harness.TABS:
            open_tab(page, tab)
            page.wait_for_timeout(400)
            page.screenshot(path=os.path.join(artifacts, "tab-%s-%s.png" % (tab, theme)), full_page=True)
        open_tab(page, "logs")
        page.click("#log-list > li:last-child button")
        page.wait_for_selector("dialog.modal .msg")
        page.screenshot(path=os.path.join(artifacts, "inspector-%s.png" % theme))
        page.keyboard.press("Escape")
        open_tab(page, "rules")
        page.get_by_role("button", name="Edit Tag local traffic").click()
        page.wait_for_selector("dialog.modal .step-card")
        page.screenshot(path=os.path.join(artifacts, "rule-editor-%s.png" % theme))
        page.keyboard.press("Escape")
    page.set_viewport_size({"width": 390, "height": 844})
    page.emulate_media(color_scheme="light")
    for tab in harness.TABS:
        open_tab(page, tab)
        page.wait_for_timeout(300)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "%s tab scrolls sideways at phone width (%dpx)" % (tab, width)
        page.screenshot(path=os.path.join(artifacts, "phone-%s.png" % tab), full_page=True)


def test_inspector_shows_the_request_and_the_reassembled_stream(signed_in, daemon, upstreams):
    page = signed_in
    route_json(page, "**/api/logs/*/inspect", inspect_record())
    upstreams[0].enqueue(200, harness.openai_answer())
    harness.chat(daemon.url, "model-a")
    open_tab(page, "logs")
    page.click("#log-list > li:first-child button")
    dialog = page.locator("dialog.modal")
    dialog.locator(".msg").first.wait_for()
    text = dialog.inner_text()
    assert "prompt-cache order: tools → system → messages" in text
    assert "get_weather" in text and "What's the weather and time in Paris" in text
    response = dialog.locator(".insp-section").nth(1)
    assert response.locator(".tool-card").count() >= 1 and "Tool call · get_weather" in response.text_content()
    assert "Stream incomplete" not in response.inner_text()
    dialog.get_by_role("button", name="Raw").click()
    assert "event: message_start" in dialog.locator("pre.raw").nth(1).inner_text()
    page.keyboard.press("Escape")
    expect(page.locator("dialog.modal")).to_have_count(0)


def test_inspector_reports_the_servers_message_when_nothing_was_captured(signed_in, daemon, upstreams):
    page = signed_in
    page.allow_console("404 (Not Found)")
    upstreams[0].enqueue(200, harness.openai_answer())
    harness.chat(daemon.url, "model-a")
    open_tab(page, "logs")
    page.route("**/api/logs/*/inspect", lambda route: route.fulfill(
        status=404, content_type="application/json", body=json.dumps({"error": "no payload captured for log 1"})))
    page.click("#log-list > li:first-child button")
    wait_toast(page, "no payload captured for log 1")


STREAMS = sorted((fmt, name) for fmt in ("openai", "openai_responses", "anthropic", "gemini")
                 for name in os.listdir(os.path.join(FIXTURES, fmt)) if name.endswith(".sse"))


def test_sse_reassembler_rebuilds_every_fixture_stream(signed_in):
    page = signed_in
    texts = {}
    for fmt, name in STREAMS:
        with open(os.path.join(FIXTURES, fmt, name), encoding="utf-8") as f:
            texts["%s/%s" % (fmt, name)] = f.read()
    results = page.evaluate("""async (texts) => {
        const m = await import('/js/sse-reassemble.js');
        const out = {};
        for (const [key, text] of Object.entries(texts)) out[key] = m.reassembleStream(key.split('/')[0], text);
        return out;
    }""", texts)
    for key, result in results.items():
        fmt, name = key.split("/")
        assert result["format"] == fmt, key
        assert result["events"] > 0, key
        if "error" in name:
            assert result["error"], key
            continue
        if "tool" in name:
            calls = [b for b in result["blocks"] if b["type"] == "tool_call"]
            assert calls and all(c["name"] for c in calls), key
            for call in calls:
                json.loads(call["text"] or "{}")  # arguments reassembled into valid JSON
        elif "truncated" not in name and "incomplete" not in name:
            assert any(b["text"] for b in result["blocks"]), key
        if "truncated" in name:
            assert result["complete"] is False, key
        elif "error" not in name:
            assert result["complete"] is True, key
        if "reasoning" in name:
            assert any(b["type"] == "thinking" and b["text"] for b in result["blocks"]), key


# What each fixture's text deltas add up to (read off the .sse files).
SIMPLE_TEXT = {"openai": "Hello! How can I help?", "anthropic": "Hello from Claude — ünïcode!",
               "openai_responses": "Hello from world!", "gemini": "The capital of Germany is Berlin."}


@pytest.mark.parametrize("fmt", sorted(SIMPLE_TEXT))
def test_sse_reassembler_sniffs_the_format_and_rebuilds_the_exact_text(signed_in, fmt):
    with open(os.path.join(FIXTURES, fmt, "stream_text.sse"), encoding="utf-8") as f:
        stream = f.read()
    result = signed_in.evaluate("async (text) => (await import('/js/sse-reassemble.js')).reassembleStream('', text)", stream)
    assert result["format"] == fmt and result["complete"] is True
    assert "".join(b["text"] for b in result["blocks"] if b["type"] == "text") == SIMPLE_TEXT[fmt]


MARKDOWN_ATTACKS = [
    "<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "[click](javascript:alert(1))",
    "![x](https://example.com/track.png)", "<a href='javascript:alert(1)'>x</a>", "[x](data:text/html,<script>)",
]


def test_markdown_renderer_is_safe_by_construction(signed_in):
    page = signed_in
    result = page.evaluate("""async (attacks) => {
        const { renderMarkdown } = await import('/js/markdown.js');
        return attacks.map((text) => {
            const el = renderMarkdown(text);
            return { text: el.textContent, tags: [...el.querySelectorAll('*')].map((n) => n.tagName.toLowerCase()),
                     hrefs: [...el.querySelectorAll('a')].map((a) => a.getAttribute('href')) };
        });
    }""", MARKDOWN_ATTACKS)
    for attack, out in zip(MARKDOWN_ATTACKS, result):
        assert not {"img", "script", "iframe", "object"} & set(out["tags"]), attack
        assert all(h.startswith(("http:", "https:", "mailto:")) for h in out["hrefs"]), attack
    assert "<img src=x onerror=alert(1)>" in result[0]["text"]  # shown as text, not dropped
    assert result[3]["hrefs"] == ["https://example.com/track.png"]  # an image becomes a link, never loaded


def test_markdown_renderer_handles_common_chat_syntax(signed_in):
    source = ("# Title\n\nSome **bold**, *em*, `code` and ~~gone~~ with [a link](https://example.com).\n\n"
              "- one\n- two\n  - nested\n\n1. first\n2. second\n\n> quoted\n\n```python\nprint('<b>')\n```\n\n"
              "| a | b |\n|---|---|\n| 1 | 2 |\n\n---\n")
    shape = signed_in.evaluate("""async (source) => {
        const el = (await import('/js/markdown.js')).renderMarkdown(source);
        const count = (sel) => el.querySelectorAll(sel).length;
        return { h1: count('h1'), strong: count('strong'), em: count('em'), code: count('p code'), del: count('del'),
                 a: el.querySelector('a').href, ul: count('ul'), nested: count('ul ul li'), ol: count('ol li'),
                 quote: count('blockquote'), pre: el.querySelector('pre code').textContent, td: count('td'), hr: count('hr') };
    }""", source)
    assert shape == {"h1": 1, "strong": 1, "em": 1, "code": 1, "del": 1, "a": "https://example.com/", "ul": 2, "nested": 1,
                     "ol": 2, "quote": 1, "pre": "print('<b>')", "td": 2, "hr": 1}


def test_modals_trap_focus_and_close_on_escape(signed_in):
    page = signed_in
    open_tab(page, "aliases")
    page.click("#new-group")
    page.wait_for_selector("dialog.modal[open]")
    for _ in range(25):
        page.keyboard.press("Tab")
        assert page.evaluate("!!document.activeElement.closest('dialog.modal')")
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog.modal", state="detached")
    assert page.evaluate("document.activeElement.id") == "new-group"


def test_a_rejected_change_shows_the_servers_error(signed_in, admin):
    page = signed_in
    page.allow_console("400 (Bad Request)")
    open_tab(page, "downstreams")
    base = page.get_by_label("API host (base URL)")
    base.fill("ftp://nowhere")
    base.press("Enter")
    page.wait_for_selector(".toast-error")
    assert "base_url" in page.locator(".toast-error").first.inner_text()
    expect(base).to_have_attribute("aria-invalid", "true")
    assert admin.get("/api/downstreams/alpha")["base_url"].startswith("http://127.0.0.1")


def test_settings_save_the_default_tab_and_clear_the_password(signed_in, daemon, admin):
    page = signed_in
    open_tab(page, "settings")
    page.get_by_label("Default tab").select_option("logs")
    page.get_by_label("Outbound proxy").select_option("env")
    page.click("#save-settings")
    wait_toast(page, "Settings saved")
    assert {k: admin.get("/api/config")[k] for k in ("default_tab", "proxy_mode")} == {"default_tab": "logs", "proxy_mode": "env"}
    page.get_by_label("Current password").fill(harness.PASSWORD)
    page.get_by_role("button", name="Remove password").click()
    page.locator("dialog.modal button[type=submit]").click()
    wait_toast(page, "Password removed")
    page.goto(daemon.url + "/")
    page.wait_for_selector("#tab-logs:not([hidden])")  # no login any more, and Logs opens first
    expect(page.locator("#sign-out")).to_be_hidden()
    open_tab(page, "settings")  # and a password can be set again from here
    page.get_by_label("Password", exact=True).fill("fresh-pass")
    page.get_by_label("Repeat new password").fill("fresh-pass")
    page.click("#change-password")
    wait_toast(page, "Password set")
    page.wait_for_selector("#login:not([hidden])", timeout=4000)
    assert harness.AdminApi(daemon.url, "fresh-pass").get("/api/config")["admin_password_set"] is True


def test_downstream_fields_save_themselves_when_committed(signed_in, admin):
    page = signed_in
    open_tab(page, "downstreams")
    name = page.get_by_label("Provider name")
    name.fill("Alpha Prime")
    name.press("Tab")
    wait_toast(page, "Name saved")
    page.get_by_role("checkbox", name="Anthropic Messages").check()
    wait_toast(page, "API formats saved")
    page.get_by_label("Anthropic Messages URL").fill("http://127.0.0.1:9/anthropic")
    page.get_by_label("Anthropic Messages URL").press("Enter")
    wait_toast(page, "Anthropic URL saved")
    ds = admin.get("/api/downstreams/alpha")
    assert ds["name"] == "Alpha Prime" and ds["api_formats"] == ["openai", "anthropic"]
    assert ds["format_urls"] == {"anthropic": "http://127.0.0.1:9/anthropic"} and ds["output_model_ids"] == ["model-a"]
    expect(page.locator(".ds-item[aria-current=true] .ds-item-name")).to_have_text("Alpha Prime")


def test_logs_pause_resume_and_reconnect_without_duplicates(signed_in, daemon, upstreams):
    page = signed_in
    upstreams[0].enqueue(200, harness.openai_answer())
    harness.chat(daemon.url, "model-a")
    open_tab(page, "logs")
    page.wait_for_selector(".log-status:has-text('Live')")
    expect(page.locator("#log-list > li")).to_have_count(1)
    page.click("#logs-pause")
    harness.chat(daemon.url, "paused-model")
    page.wait_for_selector(".log-status:has-text('Paused · 1 new')")
    assert page.locator("#log-list > li:has-text('paused-model')").count() == 0
    page.click("#logs-pause")
    page.wait_for_selector("#log-list > li:first-child:has-text('paused-model')")
    open_tab(page, "about")  # leaving the tab closes the stream; coming back resumes after the last id
    harness.chat(daemon.url, "while-away")
    open_tab(page, "logs")
    page.wait_for_selector("#log-list > li:first-child:has-text('while-away')")
    ids = page.eval_on_selector_all("#log-list > li", "rows => rows.map(r => r.dataset.id)")
    assert len(ids) == 3 and len(set(ids)) == 3 and ids == sorted(ids, key=int, reverse=True)
    page.click("#logs-clear")
    expect(page.locator("#log-list > li")).to_have_count(0)


def test_every_form_control_has_a_label(signed_in, admin, daemon, upstreams):
    page = signed_in
    seed(admin, daemon, upstreams)
    for tab in harness.TABS:
        open_tab(page, tab)
        page.wait_for_timeout(300)
        unlabelled = page.evaluate("""() => [...document.querySelectorAll('#content input, #content select, #content textarea')]
            .filter((el) => el.offsetParent !== null && !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map((el) => el.outerHTML.slice(0, 80))""")
        assert unlabelled == [], tab


def test_dashboard_ranges_ask_the_server_and_bad_custom_ranges_are_refused(signed_in):
    page = signed_in
    open_tab(page, "dashboard")
    with page.expect_request("**/api/stats?range=today") as sent:
        page.click("button[data-range=today]")
    assert sent.value
    page.fill("input[aria-label='From date']", "2025-03-10")
    page.fill("input[aria-label='To date']", "2025-03-01")
    page.click("button[data-range=custom]")
    wait_toast(page, "From must be on or before To.")
    page.fill("input[aria-label='To date']", "2025-03-12")
    with page.expect_request("**/api/stats?range=custom&from=2025-03-10&to=2025-03-12"):
        page.click("button[data-range=custom]")
    page.wait_for_selector(".stat-detail:has-text('2025-03-10 – 2025-03-12')")


def test_fetch_models_lists_the_providers_models_and_adds_one(signed_in, admin, upstreams):
    page = signed_in
    admin.call("PUT", "/api/downstreams/alpha", {"api_key": "sk-alpha-0123456789"})
    upstreams[0].enqueue(200, {"object": "list", "data": [{"id": "model-a"}, {"id": "model-z"}]})
    open_tab(page, "downstreams")
    page.get_by_role("button", name="⟳ Fetch from provider").click()
    dialog = page.locator("dialog.modal")
    dialog.get_by_role("button", name="Add model-z").click()
    wait_toast(page, "Added model model-z")
    expect(dialog.locator("li:has-text('model-z') .badge:has-text('Added')")).to_have_count(1)
    assert admin.get("/api/downstreams/alpha")["output_model_ids"] == ["model-a", "model-z"]


def fixture_bodies(prefix):
    out = {}
    for fmt in ("openai", "openai_responses", "anthropic", "gemini"):
        for name in sorted(os.listdir(os.path.join(FIXTURES, fmt))):
            if name.startswith(prefix) and name.endswith(".json"):
                with open(os.path.join(FIXTURES, fmt, name), encoding="utf-8") as f:
                    out["%s/%s" % (fmt, name)] = f.read()
    return out


def test_inspector_normalises_every_fixture_request_and_response(signed_in):
    results = signed_in.evaluate("""async ([requests, responses]) => {
        const norm = await import('/js/normalise.js');
        const sse = await import('/js/sse-reassemble.js');
        const out = {};
        for (const [key, body] of Object.entries(requests)) {
            const view = norm.normaliseRequest(key.split('/')[0], JSON.parse(body));
            out[key] = view && view.sections.reduce((n, s) => n + (s.messages || []).length, 0);
        }
        for (const [key, body] of Object.entries(responses)) {
            const r = sse.reassemble(key.split('/')[0], body, 'application/json');
            out[key] = r && (r.blocks.length || r.error || r.stop_reason);
        }
        return out;
    }""", [fixture_bodies("request_"), fixture_bodies("response_")])
    assert results and all(results.values()), {k: v for k, v in results.items() if not v}

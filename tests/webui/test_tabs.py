"""Each tab's remaining actions through the browser, every one checked against the admin API or
the gateway: the masked API key, regex groups and announced names, options and groups, rule
toggling and editing, proxy keys, the log level, the version, dashboard auto-refresh, and a
phone-width screen."""
import json
import urllib.request

from tests.webui import harness
from tests.webui.harness import expect, open_tab, wait_toast
from tresor import __version__


def confirm(page):
    """Press the confirm button of the open confirmation dialog."""
    page.locator("dialog.modal button[type=submit]").click()


def test_the_api_key_is_shown_masked_revealed_on_demand_and_replaced_by_typing(signed_in, admin):
    page = signed_in
    assert admin.call("PUT", "/api/downstreams/alpha", {"api_key": "sk-old-0123456789"})[0] == 200
    page.reload()  # Downstreams, the first tab, was drawn before the key was set
    open_tab(page, "downstreams")
    key = page.get_by_label("API key", exact=True)
    expect(key).to_have_attribute("placeholder", "saved (sk-…6789) — type to replace")
    assert key.input_value() == "" and key.get_attribute("type") == "password"
    page.get_by_role("button", name="Show").click()
    expect(key).to_have_value("sk-old-0123456789")
    assert key.get_attribute("type") == "text"
    page.get_by_role("button", name="Hide").click()
    expect(key).to_have_value("")
    key.fill("sk-new-abcdefghijk")
    key.press("Enter")
    wait_toast(page, "API key saved")
    expect(key).to_have_attribute("placeholder", "saved (sk-…hijk) — type to replace")
    assert admin.get("/api/downstreams/alpha?reveal=1")["api_key"] == "sk-new-abcdefghijk"
    assert admin.get("/api/downstreams/alpha")["api_key"] == "sk-…hijk"


def test_providers_are_searched_and_deleted(signed_in, admin, upstreams):
    page = signed_in
    admin.post("/api/downstreams", {"id": "beta", "name": "Beta", "base_url": upstreams[1].url,
                                    "api_formats": ["openai"], "output_model_ids": ["model-b"]})
    page.reload()
    open_tab(page, "downstreams")
    expect(page.locator(".ds-item")).to_have_count(2)
    page.get_by_label("Search providers").fill("model-b")  # models are searched too
    expect(page.locator(".ds-item .ds-item-name")).to_have_text(["Beta"])
    page.locator(".ds-item").click()
    expect(page.get_by_label("Provider name")).to_have_value("Beta")
    page.locator(".ds-detail").get_by_role("button", name="Delete").click()
    confirm(page)
    wait_toast(page, "Deleted Beta")
    assert [d["id"] for d in admin.get("/api/downstreams")] == ["alpha"]
    page.get_by_label("Search providers").fill("")
    expect(page.locator(".ds-item .ds-item-name")).to_have_text(["Alpha"])


def test_a_regex_group_with_announced_names_is_created_and_edited(signed_in, daemon):
    page = signed_in
    page.allow_console("400 (Bad Request)")
    open_tab(page, "aliases")
    page.click("#new-group")
    dialog = page.locator("dialog.modal")
    dialog.get_by_label("Alias name (what apps request)").fill("^gpt-(")
    dialog.get_by_label("Regex pattern (matches any requested model it finds)").check()
    dialog.get_by_label("Announced names (optional)").fill("gpt-any")
    dialog.get_by_label("model-a via Alpha").check()
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator(".form-error")).to_contain_text("invalid regex pattern")  # the server's words, dialog kept
    dialog.get_by_label("Alias name (what apps request)").fill("^gpt-.*")
    dialog.locator("button[type=submit]").click()
    wait_toast(page, "Created ^gpt-.* with 1 option")
    card = page.locator(".group-card[data-name='^gpt-.*']")
    expect(card.locator(".badge:has-text('regex')")).to_have_count(1)
    expect(card.locator(".announced .chip")).to_have_text(["gpt-any×"])
    card.get_by_role("button", name="+ Add name").click()
    card.get_by_label("New announced name for ^gpt-.*").fill("gpt-extra")
    card.get_by_label("New announced name for ^gpt-.*").press("Enter")
    wait_toast(page, "Announced gpt-extra")
    card.get_by_role("button", name="Remove announced name gpt-any").click()
    wait_toast(page, "Removed gpt-any")
    expect(card.locator(".announced .chip")).to_have_text(["gpt-extra×"])
    with urllib.request.urlopen(daemon.url + "/v1/models", timeout=5) as resp:
        listed = [m["id"] for m in json.loads(resp.read())["data"]]
    assert "gpt-extra" in listed and "gpt-any" not in listed


def test_options_are_added_and_deleted_and_a_group_is_deleted(signed_in, admin, upstreams):
    page = signed_in
    admin.post("/api/downstreams", {"id": "beta", "name": "Beta", "base_url": upstreams[1].url,
                                    "api_formats": ["openai"], "output_model_ids": ["model-b"]})
    admin.post("/api/aliases/group", {"input_model_id": "team", "options": [
        {"downstream_id": "alpha", "output_model_id": "model-a"}]})
    open_tab(page, "aliases")
    card = page.locator(".group-card[data-name=team]")
    card.get_by_role("button", name="+ Option").click()
    dialog = page.locator("dialog.modal")
    expect(dialog.get_by_label("model-a via Alpha")).to_be_disabled()  # already an option of the group
    dialog.get_by_label("model-b via Beta").check()
    dialog.locator("button[type=submit]").click()
    wait_toast(page, "Added 1 option to team")
    expect(card.locator(".option")).to_have_count(2)
    card.get_by_role("button", name="Delete option model-a via Alpha").click()
    confirm(page)
    wait_toast(page, "Deleted model-a via Alpha")
    group = admin.get("/api/aliases")[0]
    assert [(o["output_model_id"], o["is_active"]) for o in group["options"]] == [("model-b", True)]
    expect(card.locator(".option.active")).to_contain_text("model-b")
    card.get_by_role("button", name="Delete group").click()
    confirm(page)
    wait_toast(page, "Deleted team")
    expect(page.locator(".group-card")).to_have_count(0)
    assert admin.get("/api/aliases") == []


def test_a_rule_is_disabled_enabled_edited_and_deleted(signed_in, admin):
    page = signed_in
    admin.post("/api/rules", {"name": "r1", "pattern_path": "*", "is_enabled": True, "pipeline_config": json.dumps(
        [{"plugin_id": "custom_header", "config": {"headers": {"X-A": "1"}}}])})
    open_tab(page, "rules")
    page.get_by_role("button", name="Disable r1").click()
    wait_toast(page, "r1 disabled")
    assert admin.get("/api/rules")[0]["is_enabled"] is False
    page.get_by_role("button", name="Enable r1").click()
    wait_toast(page, "r1 enabled")
    assert admin.get("/api/rules")[0]["is_enabled"] is True
    page.get_by_role("button", name="Edit r1").click()
    dialog = page.locator("dialog.modal")
    expect(dialog.get_by_label("Header value")).to_have_value("1")
    dialog.get_by_label("Header value").fill("2")
    dialog.get_by_role("button", name="+ Add step").click()
    dialog.locator(".step-card").nth(1).get_by_label("Plugin").select_option("remove_thinking")
    expect(dialog.locator(".step-card").nth(1)).to_contain_text("No configuration required.")
    dialog.locator(".step-card").nth(1).get_by_role("button", name="Move step up").click()
    dialog.locator("button[type=submit]").click()
    wait_toast(page, "Saved rule r1")
    steps = json.loads(admin.get("/api/rules")[0]["pipeline_config"])
    assert steps == [{"plugin_id": "remove_thinking"}, {"plugin_id": "custom_header", "config": {"headers": {"X-A": "2"}}}]
    expect(page.locator("#rules-table")).to_contain_text("remove_thinking → custom_header")
    page.get_by_role("button", name="Delete r1").click()
    confirm(page)
    wait_toast(page, "Deleted r1")
    assert admin.get("/api/rules") == []


def test_a_required_header_is_asked_for_before_anything_is_sent(signed_in, admin):
    page = signed_in
    open_tab(page, "rules")
    page.click("#new-rule")
    dialog = page.locator("dialog.modal")
    dialog.get_by_label("Name").fill("empty header")
    dialog.get_by_role("button", name="+ Add step").click()
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator(".form-error")).to_have_text("Step 1 (custom_header): Headers is required")
    assert admin.get("/api/rules") == []


def test_proxy_keys_are_added_and_removed_and_the_gateway_obeys(signed_in, daemon, upstreams):
    page = signed_in
    page.allow_console("401 (Unauthorized)")
    open_tab(page, "settings")
    expect(page.locator("#tab-settings")).to_contain_text("No keys: all traffic to the gateway is allowed.")
    page.get_by_label("New key").fill("tresor-test-key-0001")
    page.get_by_role("button", name="+ Add key").click()
    wait_toast(page, "Proxy key added")
    expect(page.locator(".key-list li")).to_have_count(1)
    assert "tresor-test-key-0001" not in page.locator(".key-list").inner_text()  # shown masked
    assert harness.chat(daemon.url, "model-a")[0] == 401
    upstreams[0].enqueue(200, harness.openai_answer())
    assert harness.chat(daemon.url, "model-a", {"Authorization": "Bearer tresor-test-key-0001"})[0] == 200
    page.locator(".key-list li button").click()
    confirm(page)
    wait_toast(page, "Proxy key removed")
    expect(page.locator(".key-list li")).to_have_count(0)
    upstreams[0].enqueue(200, harness.openai_answer())
    assert harness.chat(daemon.url, "model-a")[0] == 200


def test_the_log_level_follows_the_server_and_changes_live(signed_in, admin, daemon, upstreams):
    page = signed_in
    upstreams[0].enqueue(200, harness.openai_answer())
    harness.chat(daemon.url, "model-a")
    harness.chat(daemon.url, "no-such-model")
    open_tab(page, "logs")
    expect(page.locator("#logs-level")).to_have_value("info")  # from the stream's config event
    expect(page.locator("#log-list > li:has-text('no-such-model') .badge")).to_have_text("error")  # has an error
    expect(page.locator("#log-list > li:has-text('model-a') .badge")).to_have_text("info")
    page.locator("#logs-level").select_option("debug")
    wait_toast(page, "Log level: debug")
    assert admin.get("/api/log_level")["level"] == "debug"


def test_about_shows_the_running_version(signed_in):
    page = signed_in
    open_tab(page, "about")
    expect(page.locator("#about-version")).to_have_text(__version__)
    expect(page.locator("#tab-about table code").first).to_have_text(page.evaluate("location.origin") + "/v1")


def test_the_dashboard_refreshes_itself_every_minute(page, daemon):
    page.clock.install()
    page.goto(daemon.url + "/#dashboard")
    page.fill("#login-password", harness.PASSWORD)
    page.press("#login-password", "Enter")
    page.wait_for_selector(".stat-cards .stat")
    with page.expect_request("**/api/stats?range=last_7_days", timeout=3000):
        page.clock.run_for(61000)
    open_tab(page, "about")  # a hidden dashboard stops asking
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/api/stats" in r.url else None)
    page.clock.run_for(125000)
    page.wait_for_timeout(200)
    assert asked == []


def test_a_phone_width_screen_can_switch_an_alias(browser, daemon, admin, upstreams):
    admin.post("/api/downstreams", {"id": "beta", "name": "Beta", "base_url": upstreams[1].url,
                                    "api_formats": ["openai"], "output_model_ids": ["model-b"]})
    admin.post("/api/aliases/group", {"input_model_id": "team", "options": [
        {"downstream_id": "alpha", "output_model_id": "model-a"}, {"downstream_id": "beta", "output_model_id": "model-b"}]})
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(daemon.url + "/")
        page.fill("#login-password", harness.PASSWORD)
        page.tap("#login-form button[type=submit]")
        page.wait_for_selector("#shell:not([hidden])")
        page.tap("#nav-aliases")  # first visit: the cards appear once, when the groups are loaded
        page.locator(".option", has_text="model-b").locator(".option-main").tap()
        wait_toast(page, "team → model-b (Beta)")
        assert [o["is_active"] for o in admin.get("/api/aliases")[0]["options"]] == [False, True]
        for tab in harness.TABS:
            page.tap("#nav-" + tab)
            page.wait_for_selector("#tab-%s:not([hidden])" % tab)
            page.wait_for_timeout(200)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, tab
        assert errors == []
    finally:
        ctx.close()


def test_switching_to_an_option_deleted_elsewhere_shows_the_servers_error(signed_in, admin, upstreams):
    page = signed_in
    page.allow_console("404 (Not Found)")
    admin.post("/api/downstreams", {"id": "beta", "name": "Beta", "base_url": upstreams[1].url,
                                    "api_formats": ["openai"], "output_model_ids": ["model-b"]})
    admin.post("/api/aliases/group", {"input_model_id": "team", "options": [
        {"downstream_id": "alpha", "output_model_id": "model-a"}, {"downstream_id": "beta", "output_model_id": "model-b"}]})
    open_tab(page, "aliases")
    gone = admin.get("/api/aliases")[0]["options"][1]["id"]
    assert admin.call("DELETE", "/api/aliases/" + gone)[0] == 200  # e.g. from the CLI, while the page is open
    page.locator(".option", has_text="model-b").locator(".option-main").click()
    page.wait_for_selector(".toast-error:has-text('not found')")
    expect(page.locator(".group-card[data-name=team] .option")).to_have_count(1)  # the page reloaded the groups
    assert [o["output_model_id"] for o in admin.get("/api/aliases")[0]["options"]] == ["model-a"]


def test_the_provider_switch_works_from_the_keyboard_alone(signed_in, admin, upstreams):
    page = signed_in
    admin.post("/api/downstreams", {"id": "beta", "name": "Beta", "base_url": upstreams[1].url,
                                    "api_formats": ["openai"], "output_model_ids": ["model-b"]})
    admin.post("/api/aliases/group", {"input_model_id": "team", "options": [
        {"downstream_id": "alpha", "output_model_id": "model-a"}, {"downstream_id": "beta", "output_model_id": "model-b"}]})
    page.focus("#nav-aliases")
    page.keyboard.press("Enter")
    page.wait_for_selector(".group-card[data-name=team]")
    target = "Use model-b via Beta"
    for _ in range(40):  # Tab through the page until the option's button has focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == target:
            break
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == target
    page.keyboard.press("Space")
    wait_toast(page, "team → model-b (Beta)")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Active: model-b via Beta"


def test_a_refused_new_provider_keeps_the_dialog_open_with_the_servers_error(signed_in, admin, upstreams):
    page = signed_in
    page.allow_console("409 (Conflict)")
    open_tab(page, "downstreams")
    page.click("#add-downstream")
    dialog = page.locator("dialog.modal")
    dialog.get_by_label("Name").fill("Alpha")  # its id, "alpha", is taken
    dialog.get_by_label("Base URL").fill(upstreams[1].url)
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator(".form-error")).to_have_text("downstream 'alpha' already exists")
    assert [d["id"] for d in admin.get("/api/downstreams")] == ["alpha"]

"""Issue 8 acceptance: the web UI drives a real daemon and two stub providers in headless Chromium."""
import time

from tests.webui import harness
from tests.webui.harness import expect, open_tab, wait_toast


def group_order(page):
    return page.eval_on_selector_all(".group-card", "cards => cards.map(c => c.dataset.name)")


def seed_groups(admin, names):
    for name in names:
        admin.post("/api/aliases/group", {"input_model_id": name, "options": [
            {"downstream_id": "alpha", "output_model_id": "model-a"}]})


def test_wrong_password_is_refused_then_login_and_sign_out_work(page, daemon):
    page.allow_console("401 (Unauthorized)")
    page.goto(daemon.url + "/")
    page.fill("#login-password", "nope")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:has-text('Wrong password')")
    page.fill("#login-password", harness.PASSWORD)
    page.press("#login-password", "Enter")
    page.wait_for_selector("#shell:not([hidden])")
    page.click("#sign-out")
    page.wait_for_selector("#login:not([hidden])")
    page.reload()
    page.wait_for_selector("#login:not([hidden])")  # the session cookie was revoked


def test_add_a_downstream_with_a_model(signed_in, admin, upstreams):
    page = signed_in
    open_tab(page, "downstreams")
    page.click("#add-downstream")
    dialog = page.locator("dialog.modal")
    dialog.get_by_label("Name").fill("Beta")
    dialog.get_by_label("Base URL").fill(upstreams[1].url)
    dialog.locator("button[type=submit]").click()
    wait_toast(page, "Added provider Beta")
    page.get_by_label("New model id").fill("model-b")
    page.click("#add-model")
    wait_toast(page, "Added model model-b")
    expect(page.locator(".model-item:has-text('model-b')")).to_have_count(1)
    beta = [d for d in admin.get("/api/downstreams") if d["name"] == "Beta"][0]
    assert beta["id"] == "beta" and beta["output_model_ids"] == ["model-b"] and beta["api_formats"] == ["openai"]


def test_alias_group_with_two_options_switches_provider_on_click(signed_in, admin, upstreams, daemon):
    page = signed_in
    admin.post("/api/downstreams", {"id": "beta", "name": "Beta", "base_url": upstreams[1].url,
                                    "api_formats": ["openai"], "output_model_ids": ["model-b"]})
    open_tab(page, "aliases")
    page.click("#new-group")
    dialog = page.locator("dialog.modal")
    dialog.get_by_label("Alias name (what apps request)").fill("team-model")
    dialog.get_by_label("model-a via Alpha").check()
    dialog.get_by_label("model-b via Beta").check()
    dialog.locator("button[type=submit]").click()
    wait_toast(page, "Created team-model with 2 options")
    first = page.locator(".option", has_text="model-a")
    second = page.locator(".option", has_text="model-b")
    assert "active" in first.get_attribute("class") and "active" not in second.get_attribute("class")
    second.locator(".option-main").click()
    wait_toast(page, "team-model → model-b (Beta)")
    assert second.locator(".option-main").get_attribute("aria-pressed") == "true"
    upstreams[1].enqueue(200, harness.openai_answer("from beta", "model-b"))
    status, body = harness.chat(daemon.url, "team-model")
    assert status == 200 and body["choices"][0]["message"]["content"] == "from beta"
    assert [r["path"] for r in upstreams[1].requests] == ["/v1/chat/completions"] and upstreams[0].requests == []


def test_drag_and_drop_reorders_groups_and_the_order_survives_a_reload(signed_in, admin):
    page = signed_in
    seed_groups(admin, ["first", "second", "third"])
    open_tab(page, "aliases")
    expect(page.locator(".group-card")).to_have_count(3)
    assert group_order(page) == ["first", "second", "third"]
    target = page.locator(".group-card[data-name=first]")
    box = target.bounding_box()
    page.drag_and_drop(".group-card[data-name=third] .drag-handle", ".group-card[data-name=first]",
                       target_position={"x": box["width"] / 2, "y": 8})
    wait_toast(page, "Order saved")
    assert group_order(page) == ["third", "first", "second"]
    assert [g["input_model_id"] for g in admin.get("/api/aliases")] == ["third", "first", "second"]
    page.reload()
    page.wait_for_selector(".group-card")
    assert group_order(page) == ["third", "first", "second"]


def test_groups_reorder_from_the_keyboard(signed_in, admin):
    page = signed_in
    seed_groups(admin, ["first", "second", "third"])
    open_tab(page, "aliases")
    page.focus(".group-card[data-name=first] .drag-handle")
    page.keyboard.press("Alt+ArrowDown")
    wait_toast(page, "Order saved")
    assert group_order(page) == ["second", "first", "third"]
    # focus stays on the moved group's handle, so the key can be pressed again
    assert page.evaluate("document.activeElement.closest('.group-card').dataset.name") == "first"
    page.keyboard.press("Alt+ArrowDown")
    page.wait_for_function("[...document.querySelectorAll('.group-card')].map(c => c.dataset.name).join() == 'second,third,first'")
    page.click("[aria-label='Move first up']")
    page.wait_for_function("[...document.querySelectorAll('.group-card')].map(c => c.dataset.name).join() == 'second,first,third'")
    time.sleep(0.3)
    assert [g["input_model_id"] for g in admin.get("/api/aliases")] == ["second", "first", "third"]


def test_rule_with_a_custom_header_step_reaches_the_provider(signed_in, admin, upstreams, daemon):
    page = signed_in
    open_tab(page, "rules")
    page.click("#new-rule")
    dialog = page.locator("dialog.modal")
    dialog.get_by_label("Name").fill("tag requests")
    dialog.get_by_role("button", name="+ Add step").click()
    step = dialog.locator(".step-card").first
    assert step.get_by_label("Plugin").input_value() == "custom_header"
    step.get_by_label("Header name").fill("X-Tresor-Test")
    step.get_by_label("Header value").fill("yes")
    dialog.locator("button[type=submit]").click()
    wait_toast(page, "Created rule tag requests")
    expect(page.locator("#rules-table tr:has-text('tag requests') td:has-text('custom_header')")).to_have_count(1)
    rule = admin.get("/api/rules")[0]
    assert rule["pattern_path"] == "*" and rule["is_enabled"] is True
    assert '"X-Tresor-Test":"yes"' in rule["pipeline_config"].replace(" ", "")
    upstreams[0].enqueue(200, harness.openai_answer())
    assert harness.chat(daemon.url, "model-a")[0] == 200
    assert upstreams[0].requests[0]["headers"]["x-tresor-test"] == "yes"


def test_a_new_request_tops_the_logs_within_a_second_and_the_filter_finds_it(signed_in, daemon, upstreams):
    page = signed_in
    open_tab(page, "logs")
    page.wait_for_selector(".log-status:has-text('Live')")
    upstreams[0].enqueue(200, harness.openai_answer())
    assert harness.chat(daemon.url, "model-a")[0] == 200
    started = time.monotonic()
    page.wait_for_selector("#log-list > li:first-child:has-text('model-a')", timeout=1000)
    assert time.monotonic() - started < 1.0
    assert harness.chat(daemon.url, "no-such-model")[0] == 404
    page.wait_for_selector("#log-list > li:first-child:has-text('no-such-model')", timeout=1000)
    page.fill("#logs-filter", "model-a")
    visible = page.locator("#log-list > li:visible")
    assert visible.count() == 1 and "model-a" in visible.first.inner_text()
    page.fill("#logs-filter", "404")
    assert page.locator("#log-list > li:visible").count() == 1
    assert "no-such-model" in page.locator("#log-list > li:visible").first.inner_text()


def test_theme_toggle_switches_and_is_remembered(signed_in):
    page = signed_in
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.reload()
    page.wait_for_selector("#shell:not([hidden])")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    assert page.evaluate("localStorage.getItem('tresor-theme')") is None  # back to following the system


def test_changing_the_password_signs_out_and_only_the_new_one_works(signed_in, daemon):
    page = signed_in
    page.allow_console("401 (Unauthorized)")
    open_tab(page, "settings")
    page.get_by_label("Current password").fill(harness.PASSWORD)
    page.get_by_label("New password", exact=True).fill("brand-new-pass")
    page.get_by_label("Repeat new password").fill("brand-new-pass")
    page.click("#change-password")
    wait_toast(page, "Password changed")
    page.wait_for_selector("#login:not([hidden])", timeout=4000)
    page.fill("#login-password", harness.PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:has-text('Wrong password')")
    page.fill("#login-password", "brand-new-pass")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#shell:not([hidden])")
    assert harness.AdminApi(daemon.url, "brand-new-pass").get("/api/config")["admin_password_set"] is True

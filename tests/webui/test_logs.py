"""The Logs tab across a daemon restart: the new daemon's ids begin again at 1, and its entries
must still appear (not be taken for ones already shown) after the stream reconnects."""
import os
import socket

from tests.support import Daemon, write_config
from tests.webui import harness
from tests.webui.harness import wait_toast


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

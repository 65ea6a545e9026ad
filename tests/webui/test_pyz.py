"""The web UI as shipped: every module loads from inside tresor.pyz, and the browser asks
nothing of any host but the daemon (the CSP forbids it; this checks the requests themselves)."""
import sys

import pytest

from tests.support import ROOT, Daemon, basic_config
from tests.webui import harness

sys.path.insert(0, ROOT)
import build  # noqa: E402  (top-level build script, not a package)


@pytest.fixture
def pyz_daemon(tmp_path, upstreams):
    out = tmp_path / "dist" / "tresor.pyz"
    build.build(ROOT, str(out))
    config = basic_config(tmp_path, harness.daemon_config(upstreams[0].url))
    with Daemon(config, launcher=[sys.executable, str(out)]) as running:
        yield running


def test_every_tab_works_from_the_zipapp_and_only_the_daemon_is_asked(context, pyz_daemon):
    page = context.new_page()
    problems, foreign, served = [], [], []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda r: None if r.url.startswith((pyz_daemon.url + "/", "data:")) else foreign.append(r.url))
    page.on("response", lambda r: served.append(r.url) if r.url.endswith(".js") and r.status == 200 else None)
    page.goto(pyz_daemon.url + "/")
    page.fill("#login-password", harness.PASSWORD)
    page.press("#login-password", "Enter")
    page.wait_for_selector("#shell:not([hidden])")
    for tab in harness.TABS:
        harness.open_tab(page, tab)
        page.wait_for_selector("#heading-" + tab)
    page.wait_for_timeout(300)
    page.close()
    assert problems == [] and foreign == []
    assert any(url.endswith("/js/tabs/pipeline.js") for url in served)  # modules in sub-folders, from the archive

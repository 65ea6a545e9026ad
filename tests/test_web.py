"""web.py: static files with ETag, 304 on revalidation, no escape from webui/."""
import pytest

from tresor.httpio import Request
from tresor.web import WebUI


def test_index_is_served_with_type_and_etag():
    resp = WebUI().serve(Request("GET", "/"))
    assert resp.status == 200 and resp.header("Content-Type").startswith("text/html")
    assert resp.header("ETag").startswith('"') and b"Tresor" in resp.body


def test_matching_etag_gets_304_without_body():
    web = WebUI()
    etag = web.serve(Request("GET", "/style.css")).header("ETag")
    again = web.serve(Request("GET", "/style.css", headers={"if-none-match": etag}))
    assert again.status == 304 and again.body == b""


@pytest.mark.parametrize("path", ["/../tresor/cli.py", "/..%2fconfig.yaml", "/nope.js", "/api/x", "/webui/"])
def test_paths_outside_webui_or_missing_are_not_served(path):
    assert WebUI().serve(Request("GET", path)) is None


def test_post_is_not_a_web_ui_request():
    assert WebUI().serve(Request("POST", "/")) is None


def test_head_has_headers_but_no_body():
    resp = WebUI().serve(Request("HEAD", "/"))
    assert resp.status == 200 and resp.body == b""


def test_modules_in_sub_folders_are_served_as_javascript():
    resp = WebUI().serve(Request("GET", "/js/api.js"))
    assert resp.status == 200 and resp.header("Content-Type").startswith("text/javascript")
    assert resp.header("Cache-Control") == "no-cache"


@pytest.mark.parametrize("header", ['"other", {etag}', "W/{etag}", "*"])
def test_if_none_match_lists_weak_tags_and_star_get_304(header):
    web = WebUI()
    etag = web.serve(Request("GET", "/app.js")).header("ETag")
    again = web.serve(Request("GET", "/app.js", headers={"if-none-match": header.format(etag=etag)}))
    assert again.status == 304


def test_a_stale_etag_gets_the_file_again():
    resp = WebUI().serve(Request("GET", "/app.js", headers={"if-none-match": '"stale"'}))
    assert resp.status == 200 and resp.body


def test_the_daemon_sends_a_strict_csp_with_the_web_ui(tmp_path):
    import urllib.request

    from tests.support import Gateway

    gateway = Gateway("", tmp_path)
    try:
        with urllib.request.urlopen(gateway.url + "/", timeout=5) as resp:
            csp = resp.headers["Content-Security-Policy"]
            assert resp.headers["Content-Type"].startswith("text/html") and resp.headers["ETag"]
    finally:
        gateway.close()
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp

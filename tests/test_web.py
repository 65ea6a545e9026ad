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

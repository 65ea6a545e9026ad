"""Admin API test helpers: a small JSON client over http.client and write-back inspection."""
import http.client
import json
from urllib.parse import urlsplit


class Reply:
    """One HTTP answer: status, lower-case headers (Set-Cookie kept as a list), body and parsed JSON."""

    def __init__(self, resp):
        self.status = resp.status
        self.headers = {k.lower(): v for k, v in resp.getheaders()}
        self.cookies = [v for k, v in resp.getheaders() if k.lower() == "set-cookie"]
        self.raw = resp.read()
        try:
            self.json = json.loads(self.raw) if self.raw else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "<Reply %d %r>" % (self.status, self.raw[:200])


class Api:
    """JSON calls to one server; `token` (if set) goes out as a Bearer header."""

    def __init__(self, url, token=None):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.token = token

    def call(self, method, path, body=None, headers=None, raw=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        sent = dict(headers or {})
        if self.token and "Authorization" not in sent:
            sent["Authorization"] = "Bearer " + self.token
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, data, sent)
            return Reply(conn.getresponse())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


DOWNSTREAMS = """downstreams:
  - id: one
    name: One
    base_url: https://one.example
    api_key: sk-one-0123456789abcd
    api_formats: [openai]
    output_model_ids: [m1]
  - id: two
    name: Two
    base_url: https://two.example
    api_formats: [anthropic]
"""


def saved(gateway):
    """config.yaml as tresor.config.load reads it back, and the DB snapshot, for write-back checks."""
    from tresor import config as config_io
    from tresor.store import sync

    on_disk = config_io.load(gateway.app.config.path)
    return on_disk, sync.snapshot(gateway.app.store.reader())

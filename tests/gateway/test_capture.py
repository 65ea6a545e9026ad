"""Payload capture for the inspector: bounded store, 1 MiB cap, and end to end through the gateway."""
import json
import urllib.request

from tresor.gateway.capture import RESPONSE_CAP, PayloadStore, ResponseTee
from tests.clients import canned
from tests.support import FakeUpstream, Gateway


def test_store_keeps_the_newest_records_only():
    store = PayloadStore(capacity=2)
    for i in (1, 2, 3):
        store.put({"id": i, "path": "/p"}, {"body": "q"}, {"body": "a"})
    assert store.get(1) is None and store.get(3)["path"] == "/p"


def test_tee_cuts_at_the_cap_and_marks_truncation():
    tee = ResponseTee()
    tee.add(b"x" * (RESPONSE_CAP - 1))
    tee.add(b"yz")
    assert tee.size == RESPONSE_CAP and tee.is_truncated and tee.text().endswith("y")


def test_captured_request_and_streamed_response_are_inspectable(tmp_path):
    upstream = FakeUpstream()
    gateway = Gateway("capture_payloads: true\ndownstreams:\n  - id: oa\n    base_url: %s\n    api_formats: [openai]\n"
                      "    output_model_ids: [gpt-x]\n" % upstream.url, tmp_path)
    try:
        upstream.enqueue(200, canned.OPENAI_STREAM)
        body = json.dumps({"model": "gpt-x", "stream": True, "messages": [{"role": "user", "content": "secret"}]})
        req = urllib.request.Request(gateway.url + "/v1/chat/completions", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()
        entry = gateway.app.log.recent(1)[0]
        with urllib.request.urlopen(gateway.url + "/api/logs/%d/inspect" % entry["id"], timeout=10) as resp:
            record = json.loads(resp.read())
        assert "secret" in record["request"]["body"]
        assert record["response"]["body"] == "".join(canned.OPENAI_STREAM)
        assert record["downstream_id"] == "oa" and record["status"] == 200
    finally:
        gateway.close()
        upstream.close()

"""Upstream down and client disconnects, through the real gateway."""
import json
import socket
import threading
import time

import openai
import pytest

from tests.clients import canned
from tests.support import Gateway


def test_upstream_down_is_502_naming_the_downstream(tmp_path):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()  # nothing listens here now
    gateway = Gateway("downstreams:\n  - id: gone\n    base_url: http://127.0.0.1:%d\n    api_formats: [openai]\n"
                      "    output_model_ids: [m]\n" % port, tmp_path)
    try:
        client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="x", max_retries=0)
        with pytest.raises(openai.InternalServerError) as info:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert info.value.status_code == 502 and "gone" in info.value.message
    finally:
        gateway.close()


def test_client_disconnect_mid_stream_closes_upstream_and_frees_the_thread(gateway, upstream):
    before = threading.active_count()
    endless = canned.OPENAI_STREAM[:2] + [canned.openai_chunk({"content": "x"})] * 150  # 3 s at 20 ms
    upstream.enqueue(200, endless, interval=0.02)
    sock = socket.create_connection(("127.0.0.1", int(gateway.url.rsplit(":", 1)[1])), timeout=5)
    body = json.dumps({"model": "gpt-x", "stream": True, "messages": []}).encode()
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    assert b"Hello" in sock.recv(65536) or b"Hello" in sock.recv(65536)
    sock.close()
    assert upstream.disconnected.wait(5)  # the gateway hung up on the upstream mid-stream
    deadline = time.monotonic() + 3
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before

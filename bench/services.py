"""The servers under test: nginx (fast canned upstream), the streaming stub, and Tresor.

nginx answers each format's endpoint (`/v1/chat/completions`, `/v1/responses`, `/v1/messages`,
`/v1beta/models/…:generateContent`) with that format's canned JSON reply from cases.py, using
`return 200 '…'` (a static file would get 405 for POST). Its config lives in a temp dir with every
path (pid, logs, temp files) under it, `daemon off` so it stays our child, one worker, no access log.
Tresor gets a generated config with one downstream per format, all pointing at those stubs.
"""
import json
import os
import sys

from cases import FORMATS, REPLIES
from procs import free_port, wait_health, wait_port

HERE = os.path.dirname(os.path.abspath(__file__))
# Long-lived streams for the 1,000-streams test: 40 events 250 ms apart (~10 s), long enough that
# opening all of them (a thread and an upstream connection each) finishes before the first ends.
HOLD_EVENTS = 40
ROOT = os.path.dirname(HERE)

NGINX_CONF = """daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        client_body_buffer_size 64k;
        location = /v1/chat/completions {{ default_type application/json; return 200 '{openai}'; }}
        location = /v1/responses {{ default_type application/json; return 200 '{openai_responses}'; }}
        location = /v1/messages {{ default_type application/json; return 200 '{anthropic}'; }}
        location ~ ^/v1beta/models/[^/]+:generateContent$ {{
            default_type application/json; return 200 '{gemini}'; }}
        location / {{ return 404; }}
    }}
}}
"""


def _nginx_literal(obj):
    text = json.dumps(obj, separators=(",", ":"))
    # Inside nginx's '…' a $ would start a variable and ' or \ would end or escape the string.
    assert not any(c in text for c in "$'\\"), "canned reply must not need nginx escaping"
    return text


def start_nginx(procs, nginx_bin, tmp):
    """Write the nginx config under `tmp`/nginx, start nginx, wait for its port; return the port."""
    conf_dir = os.path.join(tmp, "nginx")
    os.makedirs(conf_dir, exist_ok=True)
    port = free_port()
    conf = NGINX_CONF.format(dir=conf_dir, port=port, **{k: _nginx_literal(v) for k, v in REPLIES.items()})
    path = os.path.join(conf_dir, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    proc = procs.spawn("nginx", [nginx_bin, "-p", conf_dir, "-e", os.path.join(conf_dir, "error.log"),
                                 "-c", path])
    wait_port(port, proc)
    return port


def start_stream_stub(procs, events, delay):
    """Start bench/stub_upstream.py on a free port; return the port."""
    port = free_port()
    proc = procs.spawn("stream-stub", [sys.executable, os.path.join(HERE, "stub_upstream.py"),
                                       "--port", str(port), "--events", str(events),
                                       "--delay", str(delay), "--hold-events", str(HOLD_EVENTS)])
    wait_port(port, proc)
    return port


def tresor_config(tmp, name, nginx_port, stub_port):
    """Write a Tresor config for this benchmark; return (path, port)."""
    port = free_port()
    downstreams = [(f"bench-{fmt}", fmt, f"http://127.0.0.1:{nginx_port}", model)
                   for fmt, (model, _, _) in FORMATS.items()]
    downstreams += [("bench-stream", "openai", f"http://127.0.0.1:{stub_port}", "gpt-stream"),
                   ("bench-hold", "openai", f"http://127.0.0.1:{stub_port}/hold", "gpt-hold")]
    lines = [f"bind_addr: 127.0.0.1:{port}", f"db_path: {os.path.join(tmp, name + '.db')}",
             "capture_payloads: false", "downstreams:"]
    for ident, fmt, url, model in downstreams:
        lines += [f"  - id: {ident}", f"    base_url: {url}", f"    api_formats: [{fmt}]",
                  f"    output_model_ids: [{model}]"]
    path = os.path.join(tmp, name + ".yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path, port


def tresor_argv(config_path, pyz=None, root=ROOT):
    """The command that starts the daemon, from a checkout (`root`) or from a built .pyz."""
    entry = pyz or os.path.join(root, "tresor.py")
    return [sys.executable, entry, "run", "--config", config_path]


def start_tresor(procs, config_path, port, name="tresor", pyz=None, root=ROOT):
    """Start Tresor and wait for /api/health; return (process, seconds to healthy)."""
    proc = procs.spawn(name, tresor_argv(config_path, pyz, root), cwd=root)
    try:
        return proc, wait_health(port, proc)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n--- tresor output ---\n{procs.log_tail(proc)}") from None

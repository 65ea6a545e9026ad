"""The admin CLI: in-process main() against an in-process daemon, and end to end against the real one."""
import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from tresor import cli_client
from tresor.cli import Env, ExitStatus, main
from tresor.errors import UpstreamError
from tests.support import ROOT, Daemon, FakeUpstream, Gateway, basic_config, run_cli

CHAT = {"id": "c1", "object": "chat.completion", "created": 1, "model": "x", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}


@pytest.fixture
def gateway(tmp_path):
    gw = Gateway("downstreams:\n  - {id: one, name: One, base_url: 'https://one.example', "
                 "api_key: sk-one-0123456789abcd, api_formats: [openai]}\n", tmp_path)
    yield gw
    gw.close()


def cli(gateway, *argv, environ=None):
    """Run main() with --url pointing at `gateway`; returns (exit code, stdout, stderr)."""
    home = os.path.dirname(gateway.app.config.path)
    env = Env(stdout=io.StringIO(), stderr=io.StringIO(), environ=dict(environ or {}, HOME=home), cwd=home)
    code = main(list(argv) + ["--url", gateway.url], env)
    return code, env.stdout.getvalue(), env.stderr.getvalue()


@pytest.mark.parametrize("name", ["rule", "rules"])
def test_singular_and_plural_names_both_work_and_json_parses(gateway, name):
    code, out, _ = cli(gateway, name, "create", "R1", "/v1/chat/completions", "--id", "r1", "--match-format",
                       "openai,anthropic")
    assert code == ExitStatus.OK and "r1" in out
    code, out, _ = cli(gateway, name, "list", "--json")
    assert code == ExitStatus.OK and json.loads(out)[0]["match_format"] == ["openai", "anthropic"]


def test_rule_lifecycle_with_a_pipeline(gateway):
    pipeline = '[{"plugin_id": "custom_header", "config": {"headers": {"x-a": "b"}}}]'
    assert cli(gateway, "rule", "create", "R", "*", "--id", "r", "--pipeline", pipeline)[0] == 0
    assert cli(gateway, "rule", "disable", "r")[1] == "disabled rule r\n"
    assert cli(gateway, "rule", "update", "r", "--name", "Renamed")[0] == 0
    code, out, _ = cli(gateway, "rules", "list")
    assert code == 0 and out.splitlines()[1].split()[:2] == ["r", "Renamed"] and "custom_header" in out
    assert json.loads(cli(gateway, "rule", "show", "r", "--json")[1])["is_enabled"] is False
    assert cli(gateway, "rule", "delete", "r")[0] == 0 and json.loads(cli(gateway, "rules", "list", "--json")[1]) == []


def test_downstream_lifecycle_masks_keys_unless_revealed(gateway):
    code, _, err = cli(gateway, "downstream", "add", "Two", "https://two.example", "--id", "two", "--api-key",
                       "sk-two-000000001234", "--formats", "anthropic", "--models", "a,b")
    assert code == 0, err
    assert "sk-\u2026abcd" in cli(gateway, "downstreams", "list")[1]
    assert "sk-two-000000001234" not in cli(gateway, "downstream", "show", "two")[1]
    assert "sk-two-000000001234" in cli(gateway, "downstream", "show", "two", "--reveal")[1]
    assert cli(gateway, "downstream", "update", "two", "--name", "Deux")[0] == 0
    shown = json.loads(cli(gateway, "downstream", "show", "two", "--json", "--reveal")[1])
    assert shown["name"] == "Deux" and shown["api_key"] == "sk-two-000000001234"
    assert cli(gateway, "downstream", "models", "two", "--add", "c", "--remove", "a")[1] == "b\nc\n"
    assert cli(gateway, "downstream", "remove", "two")[0] == 0
    assert "two" not in cli(gateway, "downstreams", "list")[1]


def test_aliases_create_activate_reorder_and_delete(gateway):
    assert cli(gateway, "alias", "create", "smart", "one", "m1", "--id", "a1")[0] == 0
    assert cli(gateway, "alias", "create", "smart", "one", "m2", "--id", "a2")[0] == 0
    assert cli(gateway, "alias", "create", "other", "one", "m3", "--id", "b1")[0] == 0
    assert cli(gateway, "alias", "activate", "a2")[1] == "smart now routes to one as m2\n"
    rows = [line.split() for line in cli(gateway, "aliases", "list")[1].splitlines()[1:]]
    assert rows[1][:3] == ["*", "smart", "a2"] and rows[0][:2] == ["smart", "a1"]
    assert cli(gateway, "alias", "reorder", "other", "smart")[0] == 0
    assert cli(gateway, "aliases", "list")[1].splitlines()[1].split()[1] == "other"
    assert cli(gateway, "alias", "delete", "smart", "--group")[0] == 0
    assert cli(gateway, "alias", "delete", "b1")[0] == 0
    assert json.loads(cli(gateway, "aliases", "list", "--json")[1]) == []


def test_config_get_and_set(gateway):
    assert cli(gateway, "config", "set", "retry_on_empty", "true")[0] == 0
    assert cli(gateway, "config", "set", "proxy_api_keys", "k1,k2")[0] == 0
    assert cli(gateway, "config", "get", "retry_on_empty")[1].split() == ["retry_on_empty:", "yes"]
    assert gateway.app.config.proxy_api_keys == ("k1", "k2")
    code, _, err = cli(gateway, "config", "set", "bogus", "1")
    assert code == ExitStatus.ERROR and "unknown setting 'bogus'" in err


def test_status_and_plugins(gateway):
    code, out, _ = cli(gateway, "status")
    assert code == 0 and "downstreams:" in out and "version:" in out
    assert "custom_header" in cli(gateway, "plugins", "list")[1]


def test_api_errors_exit_1_with_the_servers_message_on_one_line(gateway):
    code, out, err = cli(gateway, "rule", "show", "missing")
    assert code == ExitStatus.ERROR and out == "" and err == "tresor: rule 'missing' not found\n"


def test_a_protected_daemon_needs_the_password(tmp_path):
    gw = Gateway("admin_password: pw\n", tmp_path)
    try:
        code, _, err = cli(gw, "rules", "list")
        assert code == ExitStatus.ERROR and "--password" in err and len(err.splitlines()) == 1
        assert cli(gw, "rules", "list", environ={"TRESOR_PASSWORD": "pw"})[0] == ExitStatus.OK
        assert cli(gw, "rules", "list", "--password", "pw")[0] == ExitStatus.OK
    finally:
        gw.close()


def test_a_stopped_daemon_is_one_line_saying_how_to_start_it(tmp_path):
    env = Env(stdout=io.StringIO(), stderr=io.StringIO(), environ={"HOME": str(tmp_path)}, cwd=str(tmp_path))
    assert main(["rules", "list", "--url", "http://127.0.0.1:9"], env) == ExitStatus.ERROR
    assert env.stderr.getvalue() == ("tresor: the daemon is not running at http://127.0.0.1:9; "
                                     "start it with `tresor run`\n")


@pytest.mark.parametrize("argv", [["rule"], ["rules", "frobnicate"], ["alias", "create", "only-one"],
                                  ["logs", "--level", "loud"]])
def test_usage_errors_exit_2(tmp_path, argv):
    env = Env(stdout=io.StringIO(), stderr=io.StringIO(), environ={"HOME": str(tmp_path)}, cwd=str(tmp_path))
    assert main(argv, env) == ExitStatus.USAGE


def _daemon_config(tmp_path, up_a, up_b):
    return basic_config(tmp_path, "socket_path: s.sock\ndownstreams:\n"
                        "  - {id: a, name: A, base_url: '%s', api_formats: [openai]}\n"
                        "  - {id: b, name: B, base_url: '%s', api_formats: [openai]}\n"
                        "aliases:\n  - input_model_id: smart\n    options:\n"
                        "      - {id: opt-a, downstream_id: a, output_model_id: model-a}\n"
                        "      - {id: opt-b, downstream_id: b, output_model_id: model-b}\n" % (up_a.url, up_b.url))


def _chat(url):
    request = urllib.request.Request(url + "/v1/chat/completions", json.dumps(
        {"model": "smart", "messages": [{"role": "user", "content": "hi"}]}).encode(),
        {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return resp.status


def test_alias_activate_switches_the_next_request_and_survives_a_restart(tmp_path):
    up_a, up_b = FakeUpstream(), FakeUpstream()
    try:
        path = _daemon_config(tmp_path, up_a, up_b)
        for up in (up_a, up_a, up_b, up_b):
            up.enqueue(200, CHAT)
        with Daemon(path) as daemon:
            assert _chat(daemon.url) == 200 and len(up_a.requests) == 1
            # No --url: the CLI finds the daemon through socket_path in ./config.yaml.
            result = run_cli(["alias", "activate", "opt-b"], str(tmp_path))
            assert result.returncode == 0, result.stderr
            assert _chat(daemon.url) == 200 and len(up_b.requests) == 1
            listed = run_cli(["rules", "list", "--json"], str(tmp_path))
            assert json.loads(listed.stdout) == []
            daemon.stop()
        with Daemon(path) as daemon:
            assert _chat(daemon.url) == 200
            assert (len(up_a.requests), len(up_b.requests)) == (1, 2)
    finally:
        up_a.close()
        up_b.close()


def test_logs_follow_prints_a_new_request_as_it_happens(tmp_path):
    path = basic_config(tmp_path, "socket_path: s.sock\n")
    with Daemon(path) as daemon:
        env = dict(os.environ, HOME=str(tmp_path), PYTHONDONTWRITEBYTECODE="1")
        follower = subprocess.Popen([sys.executable, os.path.join(ROOT, "tresor.py"), "logs", "-f"],
                                    cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(follower.stdout.readline, "")), daemon=True)
        reader.start()
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any("watch-me" in line for line in lines):
                try:  # repeated until the follower is connected and prints it
                    _unknown_model(daemon.url, "watch-me")
                except OSError:
                    pass
                time.sleep(0.3)
            assert any("watch-me" in line and "404" in line for line in lines), lines
        finally:
            follower.kill()
            follower.wait(5)


def _unknown_model(url, model):
    request = urllib.request.Request(url + "/v1/chat/completions", json.dumps({"model": model}).encode(),
                                     {"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=5)
    except urllib.error.HTTPError:
        pass


class _ScriptedClient:
    """Stands in for cli_client.Client: one scripted SSE connection per call, then the daemon is gone."""

    def __init__(self, connections):
        self.connections = list(connections)
        self.asked = []

    def events(self, path, last_id=0):
        self.asked.append(last_id)
        if not self.connections:
            raise UpstreamError("the daemon is not running")
        return iter(self.connections.pop(0))


def _log(entry_id):
    return "log", json.dumps({"id": entry_id, "method": "POST", "path": "/v1/x", "model": "m%d" % entry_id,
                              "status": 200, "duration": 1}), entry_id


def test_follow_prints_the_last_n_then_live_entries_and_resumes_without_duplicates(monkeypatch):
    monkeypatch.setattr(cli_client.time, "sleep", lambda s: None)
    first = [_log(3), _log(2), _log(1), ("config", '{"level": "info"}', 3), _log(4)]
    second = [_log(5), ("config", '{"level": "info"}', 5), _log(6)]
    api, out = _ScriptedClient([first, second]), io.StringIO()
    with pytest.raises(UpstreamError):
        cli_client.follow_logs(api, cli_client.LogFilter(), 2, out)
    assert [line.split()[3] for line in out.getvalue().splitlines()] == ["m2", "m3", "m4", "m5", "m6"]
    assert api.asked == [0, 4, 6]


def test_the_pyz_lists_rules_as_json(tmp_path):
    sys.path.insert(0, ROOT)
    import build

    pyz = str(tmp_path / "tresor.pyz")
    build.build(ROOT, pyz)
    with Daemon(basic_config(tmp_path, "socket_path: s.sock\n")):
        result = subprocess.run([sys.executable, pyz, "rules", "list", "--json"], cwd=str(tmp_path),
                                env=dict(os.environ, HOME=str(tmp_path)), capture_output=True, text=True,
                                timeout=20)
    assert result.returncode == 0 and json.loads(result.stdout) == [], result.stderr

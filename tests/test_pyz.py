"""build.py: the zipapp is reproducible, runs, and serves the web UI from inside the archive."""
import os
import subprocess
import sys
import urllib.request
import zipfile

import pytest

from tests.support import ROOT, Daemon, basic_config

sys.path.insert(0, ROOT)
import build  # noqa: E402  (top-level build script, not a package)


@pytest.fixture(scope="module")
def pyz(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist") / "tresor.pyz"
    build.build(ROOT, str(out))
    return out


def test_two_builds_are_byte_identical(pyz, tmp_path):
    other = tmp_path / "again.pyz"
    build.build(ROOT, str(other))
    assert pyz.read_bytes() == other.read_bytes()


def test_archive_has_shebang_sorted_entries_and_fixed_timestamps(pyz):
    assert pyz.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(str(pyz)) as zf:
        names = zf.namelist()
        assert names[0] == "__main__.py" and names[1:] == sorted(names[1:])
        assert {"config.yaml", "webui/index.html", "tresor/cli.py"} <= set(names)
        assert not any("__pycache__" in n or n.startswith("tests/") for n in names)
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert os.access(str(pyz), os.X_OK)


def test_pyz_version_matches_source_version(pyz, tmp_path):
    env = dict(os.environ, HOME=str(tmp_path))
    from_pyz = subprocess.run([sys.executable, str(pyz), "version"], capture_output=True, text=True, env=env,
                              cwd=str(tmp_path), timeout=20)
    from_src = subprocess.run([sys.executable, os.path.join(ROOT, "tresor.py"), "version"], capture_output=True,
                              text=True, env=env, cwd=str(tmp_path), timeout=20)
    assert from_pyz.returncode == 0 and from_pyz.stdout == from_src.stdout


def test_pyz_serves_health_and_web_ui_from_inside_the_archive(pyz, tmp_path):
    with Daemon(basic_config(tmp_path), launcher=[sys.executable, str(pyz)]) as daemon:
        assert daemon.get_json("/api/health") == (200, {"status": "ok"})
        with urllib.request.urlopen(daemon.url + "/app.js", timeout=5) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/javascript")


def test_pyz_stays_under_the_size_budget(pyz):
    assert pyz.stat().st_size <= 500 * 1024

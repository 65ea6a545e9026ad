"""Config file I/O: path resolution, the shipped default, ~ expansion, atomic comment-keeping write-back."""
import os
import stat

import pytest

from tresor import config as config_io
from tresor.config.model import AliasGroup, AliasOption, Downstream
from tresor.errors import ConfigError
from tests.support import ROOT, write_config


def test_explicit_config_that_does_not_exist_is_an_error(tmp_path):
    write_config(tmp_path, "log_level: info\n")  # a ./config.yaml that must NOT be used instead
    with pytest.raises(ConfigError, match="does not exist"):
        config_io.find(str(tmp_path / "missing.yaml"), str(tmp_path), {"HOME": str(tmp_path)})


def test_find_prefers_cwd_config_then_home(tmp_path):
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    env = {"HOME": str(home)}
    assert config_io.find(None, str(cwd), env) is None
    write_config(home, "", ".tresor.yaml")
    assert config_io.find(None, str(cwd), env) == str(home / ".tresor.yaml")
    write_config(cwd, "")
    assert config_io.find(None, str(cwd), env) == str(cwd / "config.yaml")


def test_expand_path_handles_bare_tilde_and_relative_paths(tmp_path):
    env = {"HOME": "/home/u"}
    assert config_io.expand_path("~", "/x", env) == "/home/u"
    assert config_io.expand_path("~/a.db", "/x", env) == "/home/u/a.db"
    assert config_io.expand_path("data/a.db", "/etc/tresor", env) == "/etc/tresor/data/a.db"


def test_shipped_config_yaml_loads_and_has_no_providers():
    config = config_io.load(os.path.join(ROOT, "config.yaml"))
    assert config.bind_addr == "127.0.0.1:11510"
    assert config.downstreams == () and config.aliases == ()
    assert config_io.load_default().bind_addr == "127.0.0.1:11510"


def test_shipped_config_documents_every_key():
    with open(os.path.join(ROOT, "config.yaml"), encoding="utf-8") as f:
        text = f.read()
    from tresor.config.model import SETTINGS
    for setting in SETTINGS:
        assert "\n%s:" % setting.name in text, setting.name


def test_save_round_trips_and_writes_mode_0600(tmp_path):
    path = write_config(tmp_path, "log_level: info\n")
    config = config_io.load(path).replace(downstreams=(Downstream("d1", "D", "http://h", "k", ("openai",)),))
    config_io.save(config, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = config_io.load(path)
    assert again.downstreams == config.downstreams


def test_save_keeps_comments_and_key_order_of_surviving_entries(tmp_path):
    text = ("# my header\nlog_level: info  # chatty?\nbind_addr: 127.0.0.1:9\ndb_path: x.db\n"
            "downstreams:\n  # the old one\n  - id: old\n    base_url: http://old\n"
            "  # keep me\n  - id: keep\n    base_url: http://keep\n")
    path = write_config(tmp_path, text)
    config = config_io.load(path)
    config_io.save(config.replace(downstreams=config.downstreams[1:], log_level="debug"), path)
    out = open(path, encoding="utf-8").read()
    assert out.startswith("# my header\nlog_level: debug  # chatty?\nbind_addr: 127.0.0.1:9\n")
    assert "# keep me" in out and "# the old one" not in out and "id: old" not in out


def test_crash_during_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = write_config(tmp_path, "# precious\nlog_level: info\n")
    config = config_io.load(path).replace(log_level="debug")

    def crash(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(ConfigError, match="No space left"):
        config_io.save(config, path)
    assert open(path, encoding="utf-8").read() == "# precious\nlog_level: info\n"
    assert os.listdir(tmp_path) == ["config.yaml"]  # no temp file left behind


def test_to_document_omits_empty_fields_and_keeps_rule_columns_apart():
    from tresor.config.model import Config, Rule
    rule = Rule("r", "n", "*", match_format=("anthropic",), match_downstream_format=("anthropic",))
    group = AliasGroup("m", (AliasOption("o", "d", "x"),))
    doc = config_io.to_document(Config(rules=(rule,), aliases=(group,)))
    assert doc["rules"][0] == {"id": "r", "name": "n", "pattern_path": "*", "match_format": ["anthropic"],
                               "match_downstream_format": ["anthropic"], "is_enabled": True}
    assert doc["aliases"][0] == {"input_model_id": "m",
                                 "options": [{"id": "o", "downstream_id": "d", "output_model_id": "x"}]}
    assert "socket_path" not in doc and doc["bind_addr"] == "127.0.0.1:11510"

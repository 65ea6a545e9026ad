"""Config file I/O: find, load, validate and atomically write back `config.yaml`.

The only module that touches the config file. Parsing is config/yaml.py, validation is
config/validate.py, values are config/model.py. Write-back keeps the user's comments and the
key order of entries that still exist (yaml.dumps with the old text as template).
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable, Dict, List, Optional

from tresor import bundle
from tresor.config import yaml
from tresor.config.model import SETTINGS, Config
from tresor.config.validate import validate
from tresor.errors import ConfigError

__all__ = ["Config", "find", "load", "loads", "load_default", "to_document", "save", "expand_path"]

HOME_CONFIG = "~/.tresor.yaml"


def find(explicit: Optional[str], cwd: str, environ: Optional[Dict[str, str]] = None) -> Optional[str]:
    """Return the config path to use: `explicit` (must exist), ./config.yaml, ~/.tresor.yaml, or None.

    Unlike the Go project, an explicit path that does not exist is an error, not a silent
    fall-through to another file (reference §1.1 [QUIRK] fixed).
    """
    if explicit:
        path = expand_path(explicit, cwd, environ)
        if not os.path.isfile(path):
            raise ConfigError("config file %s does not exist" % path,
                              hint="check the --config path, or omit it to use ./config.yaml")
        return path
    for candidate in (os.path.join(cwd, "config.yaml"), expand_path(HOME_CONFIG, cwd, environ)):
        if os.path.isfile(candidate):
            return candidate
    return None


def expand_path(value: str, base_dir: str, environ: Optional[Dict[str, str]] = None) -> str:
    """Expand a leading `~` (any form) and make a relative path absolute against `base_dir`."""
    if not value:
        return value
    if value.startswith("~"):
        home = (environ or os.environ).get("HOME") or os.path.expanduser("~")
        head, sep, tail = value[1:].partition("/")
        value = os.path.join(home if not head else os.path.expanduser("~" + head), tail)
    return os.path.normpath(os.path.join(base_dir, value))


def loads(text: str, path: Optional[str] = None, check_step: Optional[Callable[[str, Any], Any]] = None) -> Config:
    """Parse and validate config text; errors name `path` (or "<config>") with line and column.

    `check_step(plugin_id, config)` validates rule pipeline steps (see validate.validate).
    """
    doc, positions = yaml.loads_located(text, path or "<config>")
    return validate(doc, positions, path, check_step)


def load(path: str, check_step: Optional[Callable[[str, Any], Any]] = None) -> Config:
    """Read and validate the config file at `path`."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise ConfigError("config file is not valid UTF-8 (byte %d)" % e.start, path=path) from e
    except OSError as e:
        raise ConfigError("cannot read config file: %s" % e.strerror, path=path) from e
    return loads(text, path, check_step)


def load_default(check_step: Optional[Callable[[str, Any], Any]] = None) -> Config:
    """The config embedded in the package (the top-level config.yaml), with no file path."""
    raw = bundle.read("config.yaml")
    return loads(raw.decode("utf-8") if raw else "", None, check_step)


def _steps(rule) -> List[Dict[str, Any]]:
    return [dict({"plugin_id": s.plugin_id}, **({"config": s.config} if s.config is not None else {}))
            for s in rule.pipeline_config]


def _omit_empty(pairs) -> Dict[str, Any]:
    return {k: v for k, v in pairs if v not in ((), [], {}, "", None, False)}


def to_document(config: Config) -> Dict[str, Any]:
    """Config -> the plain mapping written to YAML, in the reference §1.9 key order, empties omitted."""
    doc: Dict[str, Any] = {}
    for s in SETTINGS:
        value = getattr(config, s.name)
        if s.name in ("bind_addr", "db_path") or value != s.default:
            doc[s.name] = list(value) if isinstance(value, tuple) else value
    doc["downstreams"] = [dict(_omit_empty([("id", d.id), ("name", d.name), ("base_url", d.base_url),
                                            ("api_key", d.api_key), ("api_formats", list(d.api_formats)),
                                            ("output_model_ids", list(d.output_model_ids)),
                                            ("format_urls", dict(d.format_urls))]))
                          for d in config.downstreams]
    doc["rules"] = [dict(_omit_empty([
        ("id", r.id), ("name", r.name), ("pattern_path", r.pattern_path),
        ("pattern_models", list(r.pattern_models)), ("match_format", list(r.match_format)),
        ("match_downstream_format", list(r.match_downstream_format)),
        ("match_downstreams", list(r.match_downstreams)), ("pipeline_config", _steps(r))]),
        is_enabled=r.is_enabled) for r in config.rules]
    doc["aliases"] = [dict(_omit_empty([("input_model_id", g.input_model_id), ("is_regex", g.is_regex)]),
                           options=[{"id": o.id, "downstream_id": o.downstream_id,
                                     "output_model_id": o.output_model_id} for o in g.options],
                           **_omit_empty([("announced_names", list(g.announced_names))]))
                      for g in config.aliases]
    return doc


def save(config: Config, path: str) -> None:
    """Write `config` to `path` atomically (temp file in the same directory, fsync, rename), mode 0600.

    Comments and key order of the existing file are kept for entries that still exist. On any
    failure the old file is left untouched, the temp file is removed, and ConfigError is raised.
    """
    try:
        with open(path, encoding="utf-8-sig") as f:
            template: Optional[str] = f.read()
    except OSError:
        template = None
    text = yaml.dumps(to_document(config), template=template)
    directory = os.path.dirname(os.path.abspath(path))
    import tempfile  # only when saving; not loaded at startup

    fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as e:
        _remove_quietly(tmp)
        raise ConfigError("cannot write config file: %s" % (e.strerror or e), path=path) from e
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync_dir(directory)
    _remove_stale_temps(directory)


_TEMP_PREFIX, _TEMP_SUFFIX = ".tresor-config.", ".tmp"
_STALE_TEMP_S = 60.0


def _remove_stale_temps(directory: str) -> None:
    # A crash (kill -9, power loss) between mkstemp and rename leaves a temp file holding a full
    # copy of the config, API keys included; the next successful save removes old ones. Only files
    # over a minute old go, so another process's save in progress is never touched.
    cutoff = time.time() - _STALE_TEMP_S
    try:
        names = [n for n in os.listdir(directory) if n.startswith(_TEMP_PREFIX) and n.endswith(_TEMP_SUFFIX)]
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        try:
            if os.lstat(path).st_mtime < cutoff:
                os.unlink(path)
        except OSError:
            pass


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_dir(directory: str) -> None:
    # The rename is durable only once the directory entry is flushed (POSIX); Windows has no dir fds.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

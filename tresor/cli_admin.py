"""The admin subcommands of the CLI: status, downstream(s), rule(s), alias(es), plugins, logs, config.

Each is a thin client of the daemon's admin API (cli_client.Client). `register(sub)` wires them
into cli._build_parser(); every `cmd_<name>(args, env) -> ExitStatus` prints a table, or the
API's JSON with --json. Errors are raised (TresorError) and printed as one line by cli.main().
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Any, Dict, List, Optional

from tresor.cli_client import Client, print_fields, print_table, quote_id, target_from_bind_addr
from tresor.errors import ClientError, ConfigError

__all__ = ["register", "cmd_status", "cmd_downstream", "cmd_rule", "cmd_alias", "cmd_plugins", "cmd_logs",
           "cmd_config"]

FORMATS = "openai, openai_responses, anthropic, gemini"


def _ok():
    from tresor.cli import ExitStatus  # cli imports this module while building its parser

    return ExitStatus.OK


def client(args, env) -> Client:
    """The Client for `--url`/TRESOR_URL, else the config's socket_path (when it exists), else bind_addr."""
    from tresor import config as config_io
    from tresor.cli import _load_config

    url = getattr(args, "url", None) or env.environ.get("TRESOR_URL")
    password = getattr(args, "password", None)
    if password is None:
        password = env.environ.get("TRESOR_PASSWORD")
    config = base_dir = None
    try:
        config, base_dir, _ = _load_config(args, env)
    except ConfigError:
        if not url:
            raise
    if not url:
        socket_path = config_io.expand_path(config.socket_path, base_dir, env.environ) if config.socket_path else ""
        url = "unix:" + socket_path if socket_path and os.path.exists(socket_path) else \
            target_from_bind_addr(config.bind_addr)
    if password is None:
        password = config.admin_password if config is not None else ""
    return Client(url, password)


def _emit(args, env, value: Any, show) -> Any:
    if getattr(args, "json", False):
        print(json.dumps(value, indent=2, ensure_ascii=False), file=env.stdout)
    else:
        show(value)
    return _ok()


def _csv(value: Optional[str]) -> Optional[List[str]]:
    return None if value is None else [part.strip() for part in value.split(",") if part.strip()]


def _put_fields(body: Dict[str, Any], **values: Any) -> Dict[str, Any]:
    body.update({k: v for k, v in values.items() if v is not None})
    return body


def cmd_status(args, env):
    """`tresor status`: is the daemon up, its version, auth, and how much it routes."""
    api = client(args, env)
    version = api.call("GET", "/api/version")
    auth = api.call("GET", "/api/auth/status")
    settings = api.call("GET", "/api/config")
    counts = {name: len(api.call("GET", "/api/" + name)) for name in ("downstreams", "rules", "aliases")}
    value = {"daemon": api.target, "version": version.get("version"), "auth_enabled": auth.get("auth_enabled"),
             "log_level": settings.get("log_level"), "proxy_mode": settings.get("proxy_mode"),
             "downstreams": counts["downstreams"], "rules": counts["rules"], "alias_groups": counts["aliases"]}
    return _emit(args, env, value, lambda v: print_fields(v, env.stdout))


_DOWNSTREAM_COLUMNS = (("id", "id"), ("name", "name"), ("base_url", "base_url"), ("formats", "api_formats"),
                       ("models", lambda d: len(d.get("output_model_ids") or ())), ("api_key", "api_key"))


def _format_urls(values: Optional[List[str]]) -> Optional[Dict[str, str]]:
    if values is None:
        return None
    urls = {}
    for item in values:
        name, sep, url = item.partition("=")
        if not sep:
            raise ClientError("--format-url takes FORMAT=URL, got %r" % item, 400)
        urls[name.strip()] = url.strip()
    return urls


def _downstream_body(args) -> Dict[str, Any]:
    return _put_fields({}, name=args.name, base_url=args.base_url, api_key=args.api_key,
                       api_formats=_csv(args.formats), output_model_ids=_csv(args.models),
                       format_urls=_format_urls(args.format_url))


def cmd_downstream(args, env):
    """`tresor downstream list|show|add|update|remove|models`."""
    api = client(args, env)
    path = "/api/downstreams"
    if args.action == "list":
        return _emit(args, env, api.call("GET", path), lambda v: print_table(v, _DOWNSTREAM_COLUMNS, env.stdout))
    target = path + "/" + quote_id(args.id) if getattr(args, "id", None) else path
    show = lambda v: print_fields(v, env.stdout)  # noqa: E731
    if args.action == "show":
        return _emit(args, env, api.call("GET", target + ("?reveal=1" if args.reveal else "")), show)
    if args.action == "add":
        return _emit(args, env, api.call("POST", path, _downstream_body(args)), show)
    if args.action == "update":
        return _emit(args, env, api.call("PUT", target, _downstream_body(args)), show)
    if args.action == "remove":
        return _emit(args, env, api.call("DELETE", target), lambda v: print("removed %s" % args.id, file=env.stdout))
    return _models(api, args, env, target)


def _models(api: Client, args, env, target: str):
    for model in args.add or ():
        api.call("POST", target + "/models", {"model_id": model})
    for model in args.remove or ():
        api.call("DELETE", target + "/models/" + quote_id(model))
    if args.fetch:
        value = api.call("POST", target + "/fetch-models")
    else:
        value = api.call("GET", target + "/models")
    return _emit(args, env, value, lambda v: print("\n".join(v["model_ids"]), file=env.stdout))


def _pipeline_ids(rule: Dict[str, Any]) -> str:
    try:
        return ",".join(step.get("plugin_id", "?") for step in json.loads(rule.get("pipeline_config") or "[]"))
    except (ValueError, AttributeError):
        return "?"


_RULE_COLUMNS = (("id", "id"), ("name", "name"), ("path", "pattern_path"), ("models", "pattern_models"),
                 ("formats", "match_format"), ("downstreams", "match_downstreams"), ("enabled", "is_enabled"),
                 ("pipeline", _pipeline_ids))


def _rule_body(args) -> Dict[str, Any]:
    pipeline = None
    if args.pipeline is not None:
        try:
            pipeline = json.loads(args.pipeline)
        except ValueError as e:
            raise ClientError("--pipeline must be JSON, e.g. '[{\"plugin_id\": \"custom_header\"}]': %s" % e,
                              400) from None
    return _put_fields({}, pattern_models=_csv(args.pattern_models), match_format=_csv(args.match_format),
                       match_downstream_format=_csv(args.match_downstream_format),
                       match_downstreams=_csv(args.match_downstreams), pipeline_config=pipeline)


def cmd_rule(args, env):
    """`tresor rule list|show|create|update|enable|disable|delete`."""
    api = client(args, env)
    path = "/api/rules"
    target = path + "/" + quote_id(args.id) if getattr(args, "id", None) else path
    show = lambda v: print_fields(v, env.stdout)  # noqa: E731
    if args.action == "list":
        return _emit(args, env, api.call("GET", path), lambda v: print_table(v, _RULE_COLUMNS, env.stdout))
    if args.action == "show":
        return _emit(args, env, api.call("GET", target), show)
    if args.action == "create":
        body = _put_fields(_rule_body(args), id=args.rule_id, name=args.name, pattern_path=args.pattern_path,
                           is_enabled=not args.disabled)
        body.setdefault("pipeline_config", "[]")
        return _emit(args, env, api.call("POST", path, body), show)
    if args.action == "update":
        body = _put_fields(_rule_body(args), name=args.name, pattern_path=args.pattern_path)
        return _emit(args, env, api.call("PUT", target, body), show)
    if args.action in ("enable", "disable"):
        value = api.call("PUT", target, {"is_enabled": args.action == "enable"})
        return _emit(args, env, value, lambda v: print("%sd rule %s" % (args.action, args.id), file=env.stdout))
    return _emit(args, env, api.call("DELETE", target), lambda v: print("deleted rule %s" % args.id, file=env.stdout))


def _alias_rows(groups: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    rows = []
    for group in groups:
        for option in group["options"]:
            rows.append(dict(option, active="*" if option.get("is_active") else "",
                             group=group["input_model_id"] + (" (regex)" if group.get("is_regex") else "")))
    return rows


_ALIAS_COLUMNS = (("active", "active"), ("group", "group"), ("id", "id"), ("downstream", "downstream_id"),
                  ("output_model", "output_model_id"))


def cmd_alias(args, env):
    """`tresor alias list|activate|create|delete|reorder`."""
    api = client(args, env)
    path = "/api/aliases"
    show = lambda v: print_fields(v, env.stdout)  # noqa: E731
    if args.action == "list":
        return _emit(args, env, api.call("GET", path),
                     lambda v: print_table(_alias_rows(v), _ALIAS_COLUMNS, env.stdout))
    if args.action == "activate":
        value = api.call("PUT", "%s/%s/activate" % (path, quote_id(args.id)))
        return _emit(args, env, value, lambda v: print("%s now routes to %s as %s" % (
            v["input_model_id"], v["downstream_id"], v["output_model_id"]), file=env.stdout))
    if args.action == "create":
        body = _put_fields({"input_model_id": args.input_model_id, "downstream_id": args.downstream_id,
                            "output_model_id": args.output_model_id}, id=args.alias_id,
                           announced_names=_csv(args.announce), is_regex=args.regex or None,
                           is_active=args.active or None)
        return _emit(args, env, api.call("POST", path, body), show)
    if args.action == "delete":
        target = "%s/group/%s" % (path, quote_id(args.id)) if args.group else "%s/%s" % (path, quote_id(args.id))
        return _emit(args, env, api.call("DELETE", target), lambda v: print("deleted %s" % args.id, file=env.stdout))
    value = api.call("POST", path + "/reorder", {"order": args.groups})
    return _emit(args, env, value, lambda v: print("reordered", file=env.stdout))


def cmd_plugins(args, env):
    """`tresor plugins list`: the plugins a rule's pipeline may use."""
    value = client(args, env).call("GET", "/api/plugins")
    columns = (("id", "id"), ("description", lambda p: (p.get("description") or "").split(". ")[0].strip()))
    return _emit(args, env, value, lambda v: print_table(v, columns, env.stdout))


def cmd_logs(args, env):
    """`tresor logs [-f] [--level L] [--filter TEXT] [-n N]`: recent requests, oldest first; -f follows."""
    from tresor.cli_logs import follow, show_recent

    api = client(args, env)
    if args.follow:
        return follow(api, args, env)
    return show_recent(api, args, env)


_SETTINGS = ("proxy_mode", "proxy_api_keys", "admin_password", "default_tab", "log_level", "capture_payloads",
             "retry_on_empty")


def _setting_value(key: str, raw: str) -> Any:
    if key in ("capture_payloads", "retry_on_empty"):
        if raw.lower() not in ("true", "false", "on", "off", "yes", "no", "1", "0"):
            raise ClientError("%s takes true or false, got %r" % (key, raw), 400)
        return raw.lower() in ("true", "on", "yes", "1")
    if key == "proxy_api_keys":
        return _csv(raw)
    return raw


def cmd_config(args, env):
    """`tresor config get [KEY]` / `tresor config set KEY VALUE` (runtime settings, saved to config.yaml)."""
    api = client(args, env)
    if args.action == "set":
        if args.key not in _SETTINGS:
            raise ClientError("unknown setting %r (one of %s)" % (args.key, ", ".join(_SETTINGS)), 400)
        value = api.call("PUT", "/api/config", {args.key: _setting_value(args.key, args.value)})
        return _emit(args, env, value, lambda v: print("%s set" % args.key, file=env.stdout))
    value = api.call("GET", "/api/config")
    if args.key:
        if args.key not in value:
            raise ClientError("unknown setting %r (one of %s)" % (args.key, ", ".join(value)), 400)
        value = {args.key: value[args.key]}
    return _emit(args, env, value, lambda v: print_fields(v, env.stdout))


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the admin subcommands to `sub` (cli's subparsers); `common` carries --json/--url/--password."""
    from tresor.cli_parsers import add_admin_parsers

    add_admin_parsers(sub, common, globals())

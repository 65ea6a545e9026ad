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

from tresor.cli_client import (
    Client, LogFilter, follow_logs, format_entry, print_fields, print_table, quote_id, target_from_bind_addr,
)
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
        body = _put_fields(_downstream_body(args), id=args.downstream_id)
        return _emit(args, env, api.call("POST", path, body), show)
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
    api = client(args, env)
    chosen = LogFilter(args.level, args.filter)
    if args.follow:
        follow_logs(api, chosen, args.n, env.stdout, as_json=getattr(args, "json", False))
        return _ok()
    entries = [e for e in api.call("GET", "/api/logs") if chosen.accepts(e)][:max(0, args.n)][::-1]
    return _emit(args, env, entries, lambda v: [print(format_entry(e), file=env.stdout) for e in v])


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


def _common_parser() -> argparse.ArgumentParser:
    # SUPPRESS: a flag given before the subcommand is not reset by the subcommand's default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON (for scripts)")
    common.add_argument("--url", default=argparse.SUPPRESS, metavar="URL",
                        help="daemon address: http://host:port or unix:/path (default: from the config; "
                        "env TRESOR_URL)")
    common.add_argument("--password", default=argparse.SUPPRESS, help="admin password (default: from the config; "
                        "env TRESOR_PASSWORD)")
    common.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH", help="config file to find the daemon")
    return common


def _actions(sub, names, help_text: str, func, common):
    parser = sub.add_parser(names[0], aliases=list(names[1:]), help=help_text, description=help_text + ".")
    parser.set_defaults(func=func)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    return lambda name, text: actions.add_parser(name, help=text, description=text + ".", parents=[common])


def _downstream_flags(parser, is_add: bool) -> None:
    if is_add:
        parser.add_argument("name", help="display name")
        parser.add_argument("base_url", help="http:// or https:// base URL")
        parser.add_argument("--id", dest="downstream_id", help="id (default: a random 8-character id)")
    else:
        parser.add_argument("id")
        parser.add_argument("--name")
        parser.add_argument("--base-url")
    parser.add_argument("--api-key", help="provider API key")
    parser.add_argument("--formats", metavar="A,B", help="API formats the provider speaks: " + FORMATS)
    parser.add_argument("--models", metavar="A,B", help="model ids it serves (replaces the list)")
    parser.add_argument("--format-url", action="append", metavar="FORMAT=URL", help="per-format base URL")


def _add_downstream(sub, common) -> None:
    add = _actions(sub, ("downstream", "downstreams"), "manage providers (downstreams)", cmd_downstream, common)
    add("list", "list downstreams")
    show = add("show", "show one downstream")
    show.add_argument("id")
    show.add_argument("--reveal", action="store_true", help="show the real API key")
    _downstream_flags(add("add", "add a downstream"), True)
    _downstream_flags(add("update", "change the given fields of a downstream"), False)
    add("remove", "remove a downstream (its aliases go too)").add_argument("id")
    models = add("models", "list a downstream's models; add, remove, or fetch them from the provider")
    models.add_argument("id")
    models.add_argument("--add", action="append", metavar="MODEL", help="add a model id")
    models.add_argument("--remove", action="append", metavar="MODEL", help="remove a model id")
    models.add_argument("--fetch", action="store_true", help="ask the provider for its model list (nothing saved)")


def _rule_flags(parser) -> None:
    parser.add_argument("--pattern-models", metavar="A,B", help="model names the rule applies to")
    parser.add_argument("--match-format", metavar="A,B", help="client formats: " + FORMATS)
    parser.add_argument("--match-downstream-format", metavar="A,B", help="formats the provider declares")
    parser.add_argument("--match-downstreams", metavar="A,B", help="downstream ids")
    parser.add_argument("--pipeline", metavar="JSON", help='plugin steps, e.g. \'[{"plugin_id": "custom_header", '
                        '"config": {...}}]\'')


def _add_rule(sub, common) -> None:
    add = _actions(sub, ("rule", "rules"), "manage rules (plugin pipelines)", cmd_rule, common)
    add("list", "list rules")
    add("show", "show one rule").add_argument("id")
    create = add("create", "create a rule")
    create.add_argument("name")
    create.add_argument("pattern_path", help="exact request path such as /v1/chat/completions, or *")
    create.add_argument("--id", dest="rule_id", help="id (default: a random 8-character id)")
    create.add_argument("--disabled", action="store_true", help="create it disabled")
    _rule_flags(create)
    update = add("update", "change the given fields of a rule")
    update.add_argument("id")
    update.add_argument("--name")
    update.add_argument("--pattern-path")
    _rule_flags(update)
    for action in ("enable", "disable", "delete"):
        add(action, "%s a rule" % action).add_argument("id")


def _add_alias(sub, common) -> None:
    add = _actions(sub, ("alias", "aliases"), "manage alias groups (hot-switchable model names)", cmd_alias, common)
    add("list", "list alias groups and options (* = active)")
    add("activate", "make an option its group's active one (takes effect at once)").add_argument("id")
    create = add("create", "add an option (a new group, or join an existing one)")
    create.add_argument("input_model_id", help="the model name apps send (a pattern with --regex)")
    create.add_argument("downstream_id")
    create.add_argument("output_model_id")
    create.add_argument("--id", dest="alias_id", help="option id (default: a random 8-character id)")
    create.add_argument("--regex", action="store_true", help="input_model_id is a regular expression")
    create.add_argument("--announce", metavar="A,B", help="regex groups: names to list in /v1/models")
    create.add_argument("--active", action="store_true", help="make it the active option")
    delete = add("delete", "delete an option (or a whole group with --group)")
    delete.add_argument("id", help="option id, or the group's input_model_id with --group")
    delete.add_argument("--group", action="store_true", help="delete the whole group named ID")
    add("reorder", "put groups in this order").add_argument("groups", nargs="+", metavar="GROUP")


def register(sub) -> None:
    """Add the admin subcommands to `sub` (the subparsers of cli._build_parser)."""
    common = _common_parser()
    status = sub.add_parser("status", help="show whether the daemon runs and what it routes",
                            description="Show whether the daemon runs, its version and what it routes.",
                            parents=[common])
    status.set_defaults(func=cmd_status)
    _add_downstream(sub, common)
    _add_rule(sub, common)
    _add_alias(sub, common)
    plugin = _actions(sub, ("plugins", "plugin"), "list the plugins rules can use", cmd_plugins, common)
    plugin("list", "list plugins")
    logs = sub.add_parser("logs", help="show recent requests; -f follows new ones",
                          description="Show recent requests, oldest first; -f follows new ones as they happen.",
                          parents=[common])
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new requests")
    logs.add_argument("--level", choices=("debug", "info", "warn", "error"), help="lowest level shown")
    logs.add_argument("--filter", metavar="TEXT", help="only entries containing TEXT (case-insensitive)")
    logs.add_argument("-n", type=int, default=20, metavar="N", help="how many recent entries (default 20)")
    logs.set_defaults(func=cmd_logs)
    config = _actions(sub, ("config",), "read or change runtime settings", cmd_config, common)
    config("get", "show settings").add_argument("key", nargs="?")
    setter = config("set", "change a setting (saved to config.yaml)")
    setter.add_argument("key", help=", ".join(_SETTINGS))
    setter.add_argument("value", help='true/false for switches, A,B for proxy_api_keys, "" clears')

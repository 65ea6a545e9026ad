"""Command line: `main(argv=None, env=None) -> int`, one `cmd_<name>(args, env)` per subcommand.

Exit codes: 0 ok, 1 error (daemon could not start, …), 2 usage or config error, 130 interrupted.
User errors are one line on stderr; `--traceback` shows the stack.
"""
from __future__ import annotations

import argparse
import contextlib
import enum
import logging
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, TextIO

from tresor import __version__
from tresor.errors import ConfigError, TresorError


class ExitStatus(enum.IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    INTERRUPTED = 130


@dataclass
class Env:
    """What a command may touch of the outside world; tests pass their own."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: Dict[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: str = field(default_factory=os.getcwd)
    stop: Optional[threading.Event] = None  # set to stop `run` (signals set it in the real CLI)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError("%s: %s (see '%s --help')" % (self.prog, message, self.prog))


class _UsageError(Exception):
    pass


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tresor", description="Tresor: a personal LLM gateway with one-click provider "
                     "switching and on-the-fly API format translation.")
    parser.add_argument("--config", metavar="PATH", help="config file (default: ./config.yaml, then "
                        "~/.tresor.yaml, then the built-in default)")
    parser.add_argument("--traceback", action="store_true", help="show the full stack on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run = sub.add_parser("run", help="start the daemon (gateway, admin API and web UI)",
                         description="Start the daemon in the foreground; stop it with Ctrl-C or SIGTERM.")
    run.add_argument("--config", metavar="PATH", dest="run_config", help="config file (same as the global flag)")
    run.set_defaults(func=cmd_run)
    version = sub.add_parser("version", help="print the version", description="Print Tresor's version.")
    version.set_defaults(func=cmd_version)
    from tresor import cli_admin

    cli_admin.register(sub)
    return parser


def cmd_version(args, env: Env) -> ExitStatus:
    """Print `tresor <version>`."""
    print("tresor %s" % __version__, file=env.stdout)
    return ExitStatus.OK


def _load_config(args, env: Env):
    from tresor import config as config_io, plugins

    path = config_io.find(getattr(args, "run_config", None) or args.config, env.cwd, env.environ)
    if path is None:
        # No file anywhere: run on the built-in default, and write admin changes to ~/.tresor.yaml.
        home_path = config_io.expand_path(config_io.HOME_CONFIG, env.cwd, env.environ)
        return config_io.load_default(plugins.create).replace(path=home_path), env.cwd, "built-in default"
    return config_io.load(path, plugins.create), os.path.dirname(path), path


def cmd_run(args, env: Env) -> ExitStatus:
    """Start the daemon and block until SIGINT/SIGTERM (or env.stop); then shut down gracefully."""
    from tresor import app as app_module
    from tresor.gateway import server as srv

    config, base_dir, source = _load_config(args, env)  # ConfigError -> exit 2 in main()
    logging.basicConfig(level=logging.DEBUG if config.log_level == "debug" else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=env.stderr)
    stop = env.stop or threading.Event()
    _install_signal_handlers(stop)  # before anything can announce readiness
    try:
        app = app_module.build(config, base_dir)
    except ConfigError as e:
        print("tresor: cannot start: %s" % e, file=env.stderr)
        return ExitStatus.ERROR
    tracker = srv.ConnectionTracker()
    servers = []
    try:
        servers.append(srv.TCPServer(srv.parse_bind_addr(config.bind_addr), app, tracker))
        if config.socket_path:
            socket_path = app_module.config_io.expand_path(config.socket_path, base_dir, env.environ)
            servers.append(srv.UnixServer(socket_path, app, tracker))
    except OSError as e:
        for s in servers:
            s.server_close()
        app.close()
        what = config.bind_addr if not servers else config.socket_path
        print("tresor: cannot listen on %s: %s" % (what, e.strerror or e), file=env.stderr)
        return ExitStatus.ERROR
    for s in servers:
        srv.start(s)
    host, port = servers[0].server_address[:2]
    shown = "[%s]" % host if ":" in host else host
    print("tresor %s listening on http://%s:%d (config: %s)" % (__version__, shown, port, source),
          file=env.stderr, flush=True)
    _wait_for_stop(stop, app.pool.sweep)
    print("tresor: shutting down", file=env.stderr, flush=True)
    app.stopping.set()
    is_clean = srv.stop(servers, tracker, grace_s=10.0,
                        socket_path=servers[1].server_address if len(servers) > 1 else None)
    app.close()
    if not is_clean:
        print("tresor: some requests were still running after 10 s and were cut off", file=env.stderr)
    return ExitStatus.OK


def _install_signal_handlers(stop: threading.Event) -> None:
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())


def _wait_for_stop(stop: threading.Event, sweep: Callable[[], None], sweep_every_s: float = 10.0) -> None:
    """Block until `stop` is set, calling `sweep()` (expire idle upstream connections) now and then."""
    last = time.monotonic()
    while not stop.wait(0.5):  # a timed wait keeps signal handlers responsive on every platform
        if time.monotonic() - last >= sweep_every_s:
            last = time.monotonic()
            sweep()


def main(argv: Optional[List[str]] = None, env: Optional[Env] = None) -> int:
    """Run the CLI with `argv` (default sys.argv[1:]) and return the exit status."""
    env = env or Env()
    parser = _build_parser()
    args = None
    try:
        try:
            with contextlib.redirect_stdout(env.stdout):
                args = parser.parse_args(argv)
        except SystemExit as e:  # --help and --version exit from inside argparse
            return int(e.code or 0)
        if not getattr(args, "func", None):
            parser.print_help(env.stderr)
            return ExitStatus.USAGE
        return int(args.func(args, env))
    except _UsageError as e:
        print(str(e), file=env.stderr)
        return ExitStatus.USAGE
    except ConfigError as e:
        _report(e, args, env)
        return ExitStatus.USAGE
    except TresorError as e:
        _report(e, args, env)
        return ExitStatus.ERROR
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED


def _report(error: Exception, args, env: Env) -> None:
    if args is not None and getattr(args, "traceback", False):
        traceback.print_exc(file=env.stderr)
    print("tresor: %s" % error, file=env.stderr)

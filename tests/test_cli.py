"""CLI entry: main(argv, env) with a fake Env; exit codes pinned."""
import io
import threading

from tresor import __version__
from tresor.cli import Env, ExitStatus, main
from tests.support import basic_config, write_config


def _env(tmp_path, **kw):
    return Env(stdout=io.StringIO(), stderr=io.StringIO(), environ={"HOME": str(tmp_path)},
               cwd=str(tmp_path), **kw)


def test_version_prints_the_package_version(tmp_path):
    env = _env(tmp_path)
    assert main(["version"], env) == ExitStatus.OK
    assert env.stdout.getvalue() == "tresor %s\n" % __version__


def test_help_is_available_for_every_subcommand(tmp_path):
    for argv in (["--help"], ["run", "--help"], ["version", "--help"]):
        env = _env(tmp_path)
        assert main(argv, env) == ExitStatus.OK
        assert "usage: tresor" in env.stdout.getvalue()


def test_no_subcommand_and_unknown_flags_are_usage_errors(tmp_path):
    env = _env(tmp_path)
    assert main([], env) == ExitStatus.USAGE
    env = _env(tmp_path)
    assert main(["run", "--bogus"], env) == ExitStatus.USAGE
    assert "unrecognized arguments: --bogus" in env.stderr.getvalue()


def test_run_with_missing_explicit_config_exits_2_with_one_line(tmp_path):
    env = _env(tmp_path)
    assert main(["run", "--config", str(tmp_path / "nope.yaml")], env) == ExitStatus.USAGE
    lines = env.stderr.getvalue().strip().splitlines()
    assert len(lines) == 1 and "does not exist" in lines[0]


def test_run_with_invalid_config_names_file_line_and_column(tmp_path):
    path = write_config(tmp_path, "log_level: info\nbind_adr: x\n")
    env = _env(tmp_path)
    assert main(["--config", path, "run"], env) == ExitStatus.USAGE
    assert "%s:2:1: unknown key 'bind_adr'" % path in env.stderr.getvalue()


def test_run_in_process_serves_until_stopped(tmp_path):
    stop = threading.Event()
    env = _env(tmp_path, stop=stop)
    path = basic_config(tmp_path)
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault("code", main(["run", "--config", path], env)))
    runner.start()
    stop.set()
    runner.join(20)
    assert result["code"] == ExitStatus.OK
    assert "listening on http://127.0.0.1:" in env.stderr.getvalue()


def test_without_any_config_file_the_built_in_default_is_used(tmp_path):
    from tresor.cli import _build_parser, _load_config
    args = _build_parser().parse_args(["run"])
    config, base_dir, source = _load_config(args, _env(tmp_path))
    assert source == "built-in default" and config.bind_addr == "127.0.0.1:11510"
    assert config.path == str(tmp_path / ".tresor.yaml")  # admin changes will be saved here

"""The peer: LiteLLM's proxy, installed into a throwaway venv and pointed at the same stubs.

The venv lives in bench/.venv (git-ignored) and is reused when it already holds the pinned version.
LiteLLM runs as shipped (`litellm --config … --num_workers 1`, uvicorn) with two changes that keep
the comparison about proxying: the model cost map is read from the package instead of fetched from
GitHub, and uvicorn's per-request access log is off (Tresor writes no per-request log line either).
Anything that keeps LiteLLM from installing or starting becomes a `PeerUnavailable` with the reason.
"""
import json
import os
import subprocess
import sys
import time

from cases import FORMATS
from procs import free_port
from services import HERE

LITELLM_VERSION = "1.89.7"  # `litellm[proxy]`; 1.110.x needs litellm-proxy, which is not on PyPI
VENV = os.path.join(HERE, ".venv")
# LiteLLM provider prefix and api_base path per format (OpenAI-compatible bases end in /v1).
_PROVIDERS = {"openai": ("openai", "/v1"), "openai_responses": ("openai/responses", "/v1"),
              "anthropic": ("anthropic", ""), "gemini": ("gemini", "/v1beta")}
_LOGGING = {"version": 1, "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}},
            "handlers": {"err": {"class": "logging.StreamHandler", "formatter": "plain"}},
            "loggers": {"uvicorn": {"handlers": ["err"], "level": "WARNING"},
                        "uvicorn.access": {"handlers": ["err"], "level": "WARNING", "propagate": False}}}


class PeerUnavailable(RuntimeError):
    """LiteLLM could not be installed or started; the message says why."""


def _installed_version(python):
    done = subprocess.run([python, "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                          capture_output=True, text=True, timeout=120, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_litellm(say):
    """Path of the venv's `litellm` command, installing litellm[proxy]==LITELLM_VERSION if needed."""
    python, command = os.path.join(VENV, "bin", "python"), os.path.join(VENV, "bin", "litellm")
    if os.path.exists(command) and _installed_version(python) == LITELLM_VERSION:
        return command
    say(f"installing litellm[proxy]=={LITELLM_VERSION} into {VENV} (a few minutes, once) ...")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True, timeout=300)
    done = subprocess.run([python, "-m", "pip", "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"],
                          capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0 or not os.path.exists(command):
        tail = " ".join(done.stderr.strip().splitlines()[-3:])[:400]
        raise PeerUnavailable(f"pip install litellm[proxy]=={LITELLM_VERSION} failed: {tail}")
    return command


def litellm_config(tmp, nginx_port, stub_port):
    """Write LiteLLM's config (one model per format on nginx, plus the stream stub); return its path."""
    lines = ["model_list:"]
    models = [(model, fmt, f"http://127.0.0.1:{nginx_port}") for fmt, (model, _, _) in FORMATS.items()]
    models += [("gpt-stream", "openai", f"http://127.0.0.1:{stub_port}"),
               ("gpt-hold", "openai", f"http://127.0.0.1:{stub_port}/hold")]
    for model, fmt, base in models:
        provider, suffix = _PROVIDERS[fmt]
        lines += [f"  - model_name: {model}", "    litellm_params:", f"      model: {provider}/{model}",
                  f"      api_base: {base}{suffix}", "      api_key: bench"]
    lines += ["litellm_settings:", "  telemetry: false", "  drop_params: true"]
    path = os.path.join(tmp, "litellm.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(tmp, "litellm-logging.json"), "w") as f:
        json.dump(_LOGGING, f)
    return path


def start_litellm(procs, command, config, timeout=120.0):
    """Start the proxy on a free port; return (process, port, seconds until /health/liveliness)."""
    from procs import http_status

    port = free_port()
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_TELEMETRY="False",
               LITELLM_LOG="ERROR", NO_DOCS="True")
    argv = [command, "--config", config, "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1",
            "--log_config", os.path.join(os.path.dirname(config), "litellm-logging.json")]
    start = time.monotonic()
    proc = procs.spawn("litellm", argv, env=env)
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise PeerUnavailable(f"litellm exited with code {proc.returncode}: "
                                  + " ".join(procs.log_tail(proc, 600).split()))
        if http_status(port, "GET", "/health/liveliness") == 200:
            return proc, port, time.monotonic() - start
        time.sleep(0.05)
    procs.stop(proc)
    raise PeerUnavailable(f"litellm did not answer /health/liveliness within {timeout:.0f} s")

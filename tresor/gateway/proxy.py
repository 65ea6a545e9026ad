"""Outbound proxy selection (reference §3.17): which HTTP proxy, if any, a downstream URL goes through.

Owns proxy_mode semantics, HTTP(S)_PROXY / NO_PROXY parsing and the Windows registry lookup.
Pure decisions, no sockets: upstream.py asks `ProxyPolicy.select()` once per origin and caches it.
Must not import other gateway modules, store or formats.
"""
from __future__ import annotations

import base64
import ipaddress
import re
import sys
from typing import Callable, Mapping, NamedTuple, Optional
from urllib.parse import unquote, urlsplit

MODES = ("auto", "env", "windows", "none")

# curl and urllib accept commas and whitespace between NO_PROXY entries.
_SPLIT = re.compile(r"[,\s]+")


class Proxy(NamedTuple):
    """An HTTP proxy. `auth` is a ready `Proxy-Authorization` value, or "" when the URL has no user."""

    scheme: str
    host: str
    port: int
    auth: str


def parse_proxy(url: str) -> Proxy:
    """Parse `http://user:pass@host:port` (scheme optional, default port 80); ValueError when malformed."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    if not parts.hostname:
        raise ValueError("proxy URL %r has no host" % url)
    auth = ""
    if parts.username is not None:
        pair = "%s:%s" % (unquote(parts.username), unquote(parts.password or ""))
        auth = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return Proxy(parts.scheme.lower(), parts.hostname, parts.port or 80, auth)


def is_loopback(host: str) -> bool:
    """True for localhost names and loopback IP literals (127.0.0.0/8, ::1); these never use a proxy."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NoProxy:
    """A compiled NO_PROXY list; `matches(host, port)` says whether to bypass the proxy.

    Entries: `*` (everything); a domain, with or without a leading `.` or `*.`, matching itself and
    every subdomain (curl/urllib semantics; Go's ".y.com" would not match "y.com"); an IP literal; a
    CIDR such as 10.0.0.0/8 (IP literals only, names are not resolved); any of these with `:port`.
    """

    def __init__(self, text: str):
        self.is_all = False
        self._domains = []   # (suffix without leading dot, port or 0)
        self._ips = []       # (ip_address, port or 0)
        self._networks = []  # ip_network
        for entry in _SPLIT.split(text.strip().lower()):
            if entry:
                self._add(entry)

    def _add(self, entry: str) -> None:
        if entry == "*":
            self.is_all = True
            return
        if "/" in entry:
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                pass  # a malformed entry matches nothing, as in curl and Go
            return
        host, port = _split_host_port(entry)
        try:
            self._ips.append((ipaddress.ip_address(host), port))
        except ValueError:
            host = host[2:] if host.startswith("*.") else host.lstrip(".")
            if host:
                self._domains.append((host.rstrip("."), port))

    def matches(self, host: str, port: int) -> bool:
        """True when a request to host:port must bypass the proxy."""
        if self.is_all:
            return True
        host = host.lower().rstrip(".")
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if ip is not None:
            return (any(ip in net for net in self._networks)
                    or any(ip == want and p in (0, port) for want, p in self._ips))
        for suffix, p in self._domains:
            if p in (0, port) and (host == suffix or host.endswith("." + suffix)):
                return True
        return False


def _split_host_port(entry: str):
    """`host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 literal -> (host, port or 0)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest[1:].isdigit() else 0
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else 0
    return entry, 0


class ProxyPolicy:
    """The compiled proxy decision for one proxy_mode; immutable once built, shared across threads."""

    def __init__(self, proxies: Mapping[str, Proxy], bypass: Callable[[str, int], bool]):
        self._proxies = dict(proxies)
        self._bypass = bypass

    def select(self, scheme: str, host: str, port: int) -> Optional[Proxy]:
        """The proxy for a request to scheme://host:port, or None for a direct connection."""
        proxy = self._proxies.get(scheme)
        if proxy is None or is_loopback(host) or self._bypass(host, port):
            return None
        return proxy


def compile(mode: str, environ: Mapping[str, str]) -> ProxyPolicy:
    """Build the policy for `mode` (auto/env/windows/none; unknown values act as auto, reference §3.17).

    `env` reads `http_proxy`/`https_proxy`/`no_proxy` from `environ` (lower case wins over upper case,
    as in urllib and curl). `auto`/`windows` use the Windows registry proxy when it is enabled,
    else the environment. A proxy URL that cannot be parsed is ignored (direct connection).
    """
    if mode == "none":
        return ProxyPolicy({}, _never)
    if mode != "env" and sys.platform == "win32":
        policy = _registry_policy()
        if policy is not None:
            return policy
    proxies = {}
    for scheme in ("http", "https"):
        url = _env(environ, scheme + "_proxy")
        if url:
            try:
                proxies[scheme] = parse_proxy(url)
            except ValueError:
                continue
    return ProxyPolicy(proxies, NoProxy(_env(environ, "no_proxy")).matches)


def _env(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name)
    return environ.get(name.upper(), "") if value is None else value


def _never(host: str, port: int) -> bool:
    return False


def _registry_policy() -> Optional[ProxyPolicy]:
    """HKCU Internet Settings ProxyEnable/ProxyServer/ProxyOverride via urllib; best-effort, untested here."""
    try:
        import urllib.request
        found = urllib.request.getproxies_registry()
        bypass = urllib.request.proxy_bypass_registry
    except (ImportError, AttributeError, OSError):
        return None
    proxies = {}
    for scheme in ("http", "https"):
        # Python < 3.10 labels the https entry "https://host" although Windows proxies speak plain
        # HTTP (bpo-42627), so the proxy scheme is forced to http.
        url = found.get(scheme, "").split("://", 1)[-1]
        if url:
            try:
                proxies[scheme] = parse_proxy("http://" + url)
            except ValueError:
                continue
    if not proxies:
        return None
    return ProxyPolicy(proxies, lambda host, port: bool(bypass(host)))

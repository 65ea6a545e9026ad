"""custom_header: set (overwrite) headers on the request sent upstream."""
from __future__ import annotations

from tresor.errors import ConfigError
from tresor.plugins.base import Plugin

# Headers that would break framing or the connection if a rule set them.
_FORBIDDEN = frozenset(("host", "content-length", "transfer-encoding", "connection"))


class CustomHeader(Plugin):
    id = "custom_header"
    changes_body = False
    description = ("Sets each configured header on the request forwarded to the downstream, replacing a "
                   "header of the same name. A rule-set auth header (Authorization, x-api-key, x-goog-api-key) "
                   "replaces the downstream's own key.")
    config_schema = {"type": "object", "required": ["headers"], "properties": {
        "headers": {"type": "object", "description": "header name -> value (strings)",
                    "additionalProperties": {"type": "string"}}}}

    def __init__(self, config=None):
        super().__init__(config)
        headers = self.config.get("headers")
        if not isinstance(headers, dict) or not headers:
            raise ConfigError("custom_header needs config.headers, a mapping of header name to value",
                              hint="config: {headers: {X-My-Header: value}}")
        for name, value in headers.items():
            if not isinstance(value, str):
                raise ConfigError("custom_header: value of %s must be a string, got %r" % (name, value),
                                  hint="quote it, e.g. \"1\"")
            if name.lower() in _FORBIDDEN or not name or any(c in name for c in " :\r\n"):
                raise ConfigError("custom_header: %r cannot be set by a rule" % name)
            if "\r" in value or "\n" in value:
                raise ConfigError("custom_header: value of %s contains a line break" % name)
        self.headers = tuple((name.lower(), value) for name, value in headers.items())

    def request(self, x) -> None:
        """Set every configured header on the outgoing request."""
        for name, value in self.headers:
            x.headers[name] = value

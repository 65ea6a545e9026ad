"""The whole exception hierarchy (STYLE.md 4.10). Imports nothing from tresor.

Each class maps to one surface behaviour: ConfigError -> CLI exit 2 / admin 400,
ClientError -> a 4xx in the client's API format, UpstreamError -> 502/504,
PluginError -> 500 naming the plugin. Messages never contain request bodies or keys.
"""


class TresorError(Exception):
    """Base class; never raised directly."""


class ConfigError(TresorError):
    """A bad config file or value. `path`, `line`, `col` locate it when known; `hint` says how to fix it."""

    def __init__(self, message, path=None, line=None, col=None, hint=None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.col = col
        self.hint = hint

    def __str__(self):
        where = ""
        if self.path is not None:
            where = str(self.path)
            if self.line is not None:
                where += ":%d" % self.line
                if self.col is not None:
                    where += ":%d" % self.col
            where += ": "
        text = where + self.message
        if self.hint:
            text += " (hint: %s)" % self.hint
        return text


class YamlError(ConfigError):
    """A syntax error in the YAML subset parser; always carries line and col (1-based)."""


class ClientError(TresorError):
    """A request the client must fix: rendered as `status` in the client's API error format."""

    def __init__(self, message, status=400, kind="invalid_request_error"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind


class TranslationError(ClientError):
    """The request uses something the target format cannot express (400, naming field and pair)."""


class UpstreamError(TresorError):
    """Connect, timeout or protocol failure talking to a downstream (502, or 504 for timeouts)."""

    def __init__(self, message, status=502, retryable=False, downstream_id=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.downstream_id = downstream_id


class PluginError(TresorError):
    """A transforming plugin hook raised; the request fails with 500 naming `plugin_id`."""

    def __init__(self, message, plugin_id, rule_id=None):
        super().__init__(message)
        self.message = message
        self.plugin_id = plugin_id
        self.rule_id = rule_id

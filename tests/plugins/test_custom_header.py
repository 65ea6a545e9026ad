"""custom_header: config validation and the request hook."""
from types import SimpleNamespace

import pytest

from tresor import plugins
from tresor.errors import ConfigError


def test_sets_and_overwrites_headers_case_insensitively():
    plugin = plugins.create("custom_header", {"headers": {"X-Test": "1", "User-Agent": "tresor"}})
    x = SimpleNamespace(headers={"user-agent": "sdk"})
    plugin.request(x)
    assert x.headers == {"user-agent": "tresor", "x-test": "1"}


@pytest.mark.parametrize("config, needle", [
    (None, "needs config.headers"), ({"headers": {}}, "needs config.headers"),
    ({"headers": {"X-N": 1}}, "must be a string"), ({"headers": {"Host": "x"}}, "cannot be set"),
    ({"headers": {"X-A": "a\r\nB: c"}}, "line break"), ({"headers": []}, "needs config.headers"),
])
def test_invalid_configs_are_rejected_when_compiled(config, needle):
    with pytest.raises(ConfigError, match=needle):
        plugins.create("custom_header", config)

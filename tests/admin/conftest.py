"""Admin API fixtures: an in-process daemon (tests.support.Gateway), a JSON client, a stub provider."""
import pytest

from tests.admin.support import DOWNSTREAMS, Api
from tests.support import FakeUpstream, Gateway


@pytest.fixture
def make_gateway(tmp_path):
    """`make_gateway(config_text)` -> a started Gateway (closed after the test)."""
    started = []

    def make(text=""):
        gateway = Gateway(text, tmp_path)
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        gateway.close()


@pytest.fixture
def gateway(make_gateway):
    """A gateway with no password and two downstreams (`one`, `two`) but no aliases."""
    return make_gateway(DOWNSTREAMS)


@pytest.fixture
def api(gateway):
    return Api(gateway.url)


@pytest.fixture
def upstream():
    fake = FakeUpstream()
    yield fake
    fake.close()

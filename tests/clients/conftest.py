"""Fixtures for the real-SDK tier: a FakeUpstream and the in-process gateway routed to it."""
import pytest

from tests.support import FOUR_FORMAT_DOWNSTREAMS, FakeUpstream, Gateway

CONFIG = FOUR_FORMAT_DOWNSTREAMS + """\
aliases:
  - input_model_id: my-gpt
    options:
      - id: my-gpt-1
        downstream_id: oa
        output_model_id: gpt-x
  - input_model_id: my-gemini
    options:
      - id: my-gemini-1
        downstream_id: gem
        output_model_id: gemini-x
{extra}"""


@pytest.fixture
def upstream():
    fake = FakeUpstream()
    yield fake
    fake.close()


@pytest.fixture
def make_gateway(tmp_path, upstream):
    made = []

    def make(extra=""):
        gateway = Gateway(CONFIG.format(url=upstream.url, extra=extra), tmp_path)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()


@pytest.fixture
def gateway(make_gateway):
    return make_gateway()

"""Fixtures shared by the robustness modules: one stub provider per module."""
import pytest

from tests.robustness import support
from tests.support import FakeUpstream


@pytest.fixture(scope="module")
def upstream():
    """A FakeUpstream that answers every format with canned replies."""
    fake = FakeUpstream()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def stub():
    """A RawUpstream whose behaviour each test sets (it starts answering nothing)."""
    upstream = support.RawUpstream(lambda conn: None)
    yield upstream
    upstream.close()

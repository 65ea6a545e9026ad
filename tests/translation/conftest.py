"""One in-process gateway and one stub upstream per test module, shared by all matrix cases."""
import pytest

from tests.support import FakeUpstream, Gateway
from tests.translation import drivers, stubs


class Matrix:
    """The shared rig: `upstream` (FakeUpstream), `gateway` and one SDK driver per client format."""

    def __init__(self, directory):
        self.upstream = FakeUpstream()
        # The gateway drops pooled keep-alive connections (after a broken stream, on close): a reset
        # while the stub waits for the next request is not worth a traceback in the test output.
        self.upstream.server.handle_error = lambda request, address: None
        self.gateway = Gateway(stubs.config(self.upstream.url), directory)
        self.drivers = {fmt: cls(self.gateway.url) for fmt, cls in drivers.DRIVERS.items()}

    def reset(self) -> None:
        """Forget earlier requests and any answer an earlier failing case left queued."""
        while not self.upstream.answers.empty():
            self.upstream.answers.get_nowait()
        del self.upstream.requests[:]

    def close(self) -> None:
        self.gateway.close()
        self.upstream.close()


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    rig = Matrix(tmp_path_factory.mktemp("matrix"))
    yield rig
    rig.close()

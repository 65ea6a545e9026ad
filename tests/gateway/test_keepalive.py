"""keepalive.with_pings: pings during silence, order kept, errors re-raised, early stop aborts."""
import threading
import time

import pytest

from tresor.gateway.keepalive import with_pings


def _slow(gate, before=(b"a",), after=(b"b",)):
    yield from before
    gate.wait(5)
    yield from after


def test_pings_fill_silence_and_chunks_keep_their_order():
    gate = threading.Event()
    threading.Timer(0.35, gate.set).start()
    out = list(with_pings(_slow(gate), b"PING", 0.1))
    assert out[0] == b"a" and out[-1] == b"b" and out.count(b"PING") >= 2
    assert set(out[1:-1]) == {b"PING"}


def test_a_producer_error_is_raised_in_the_consumer():
    def broken():
        yield b"a"
        raise ValueError("upstream broke")

    stream = with_pings(broken(), b"PING", 5)
    assert next(stream) == b"a"
    with pytest.raises(ValueError, match="upstream broke"):
        next(stream)


def test_stopping_early_calls_abort_and_the_producer_finishes():
    gate = threading.Event()
    aborted = threading.Event()
    finished = threading.Event()

    def producer():
        try:
            yield b"a"
            gate.wait(5)
            yield b"b"
        finally:
            finished.set()

    stream = with_pings(producer(), b"PING", 5, abort=lambda: (aborted.set(), gate.set()))
    assert next(stream) == b"a"
    stream.close()
    assert aborted.is_set() and finished.wait(3)

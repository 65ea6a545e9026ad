"""keepalive: one clock thread pings quiet streams and aborts hung-up ones, never inside a write."""
import socket
import threading
import time

from tresor.gateway import keepalive
from tresor.gateway.keepalive import CLOCK, StreamBody, WatchedWriter

FRAME = b"4\r\nPING\r\n"


def _writer(sock, interval, abort=lambda: None):
    return WatchedWriter(sock, sock.sendall, StreamBody(iter(()), abort, b"PING", interval))


def _read_for(sock, seconds):
    sock.settimeout(0.05)
    data, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            data += sock.recv(65536)
        except socket.timeout:
            pass
    return data


def _wait_clock_stopped(timeout=2.0):
    deadline = time.monotonic() + timeout
    while CLOCK._thread is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    return CLOCK._thread is None


def test_pings_fill_silence_between_chunks_in_order():
    ours, theirs = socket.socketpair()
    try:
        writer = _writer(ours, 0.1)
        writer.write(b"1\r\na\r\n")
        CLOCK.watch(writer)
        try:
            silence = _read_for(theirs, 0.45)
            writer.write(b"1\r\nb\r\n")
        finally:
            CLOCK.unwatch(writer)
        rest = _read_for(theirs, 0.05)
    finally:
        ours.close()
        theirs.close()
    assert silence.startswith(b"1\r\na\r\n")
    assert silence[6:].count(FRAME) >= 3 and silence[6:].replace(FRAME, b"") == b""
    assert rest == b"1\r\nb\r\n"


def test_no_ping_while_writing_or_before_the_interval():
    ours, theirs = socket.socketpair()
    try:
        writer = _writer(ours, 0.2)
        writer.ping_if_quiet(time.monotonic())  # not quiet for 0.2 s yet
        with writer.lock:  # the stream is writing right now
            writer.ping_if_quiet(time.monotonic() + 1)
        assert _read_for(theirs, 0.05) == b""
        writer.ping_if_quiet(time.monotonic() + 1)
        assert _read_for(theirs, 0.05) == FRAME
    finally:
        ours.close()
        theirs.close()


def test_a_client_that_stopped_reading_is_shut_down_instead_of_blocking_the_clock():
    ours, theirs = socket.socketpair()
    try:
        ours.setblocking(False)
        try:
            for _ in range(100000):  # fill both socket buffers: the peer never reads
                ours.send(b"x" * 65536)
        except BlockingIOError:
            pass
        writer = _writer(ours, 0.01)
        started = time.monotonic()
        writer.ping_if_quiet(time.monotonic() + 1)
        assert time.monotonic() - started < 0.5
        ours.setblocking(True)
        try:
            ours.send(b"more")
            shut_down = False
        except OSError:
            shut_down = True
        assert shut_down
    finally:
        ours.close()
        theirs.close()


def test_the_clock_thread_runs_only_while_a_stream_is_watched():
    ours, theirs = socket.socketpair()
    try:
        writer = _writer(ours, 30)
        CLOCK.watch(writer)
        assert CLOCK._thread is not None and CLOCK._thread.is_alive()
        CLOCK.unwatch(writer)
        assert _wait_clock_stopped()
    finally:
        ours.close()
        theirs.close()


def test_stream_body_iterates_and_closes_the_wrapped_body():
    closed = threading.Event()

    def body():
        try:
            yield b"a"
            yield b"b"
        finally:
            closed.set()

    stream = StreamBody(body(), lambda: None, b"PING", 5)
    assert next(stream) == b"a" and stream.ping == b"PING" and stream.interval == 5
    stream.close()
    assert closed.is_set()
    assert keepalive._DONTWAIT or not hasattr(socket, "MSG_DONTWAIT")


def test_a_client_that_hung_up_gets_its_stream_aborted_and_nothing_written_after_close():
    ours, theirs = socket.socketpair()
    aborted = threading.Event()
    try:
        writer = _writer(ours, 30, aborted.set)
        writer.check(time.monotonic())
        assert not aborted.is_set()  # the client is still there
        theirs.close()
        writer.check(time.monotonic())
        assert aborted.is_set()
        finished = _writer(ours, 0.01)
        finished.close()
        finished.ping_if_quiet(time.monotonic() + 1)  # over: the connection may carry the next response
    finally:
        ours.close()


def test_the_clock_aborts_a_stream_whose_client_left_while_the_writer_waits():
    ours, theirs = socket.socketpair()
    aborted = threading.Event()
    try:
        writer = WatchedWriter(ours, ours.sendall, StreamBody(iter(()), aborted.set))  # no pings
        CLOCK.watch(writer)
        try:
            theirs.close()
            assert aborted.wait(3)
        finally:
            writer.close()
            CLOCK.unwatch(writer)
    finally:
        ours.close()

def _count_checks(writer, seconds):
    calls = [0]
    original = writer.check

    def counting(now):
        calls[0] += 1
        original(now)

    writer.check = counting
    keepalive.CLOCK.watch(writer)
    try:
        time.sleep(seconds)
    finally:
        keepalive.CLOCK.unwatch(writer)
    return calls[0]


def test_clock_does_not_spin_while_a_stream_write_is_blocked():
    # A worker's sendall to a slow client holds writer.lock for longer than the ping interval.
    ours, theirs = socket.socketpair()
    try:
        body = keepalive.StreamBody(iter(()), lambda: None, b"PING", 0.1)
        writer = keepalive.WatchedWriter(ours, ours.sendall, body)
        writer.lock.acquire()
        try:
            calls = _count_checks(writer, 0.5)
        finally:
            writer.lock.release()
    finally:
        ours.close()
        theirs.close()
    assert calls < 50, "check() ran %d times in 0.5 s with a 0.1 s interval" % calls


def test_clock_does_not_spin_when_the_ping_send_fails():
    # ping send raises OSError (e.g. EPIPE after a reset): `last` is not advanced, so it is due again at once.
    ours, theirs = socket.socketpair()
    try:
        body = keepalive.StreamBody(iter(()), lambda: None, b"PING", 0.1)
        writer = keepalive.WatchedWriter(ours, ours.sendall, body)
        ours.shutdown(socket.SHUT_WR)  # our sends fail with EPIPE; no hang-up seen from the peer
        calls = _count_checks(writer, 0.5)
    finally:
        ours.close()
        theirs.close()
    assert calls < 50, "check() ran %d times in 0.5 s with a 0.1 s interval" % calls

"""EventLoop on socketpairs in a daemon thread (readiness, cross-thread calls, deadlines, errors, stop) and Workers."""
import logging
import socket
import threading
import time

import pytest

from tresor.gateway.eventloop import READ, WRITE, EventLoop, Workers

WAIT_S = 5.0  # generous bound for anything the loop should do "soon" (a noisy 2-core machine)


@pytest.fixture
def loop():
    loop = EventLoop()
    thread = threading.Thread(target=loop.run, name="test-loop", daemon=True)
    thread.start()
    yield loop
    loop.stop()
    thread.join(WAIT_S)
    assert not thread.is_alive(), "the loop did not stop"


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    yield a, b
    a.close()
    b.close()


def on_loop(loop, fn, *args):
    """Run fn(*args) on the loop thread and return its result (or raise its exception) in this thread."""
    done, box = threading.Event(), {}

    def call():
        try:
            box["result"] = fn(*args)
        except BaseException as exc:  # handed back to the test thread
            box["error"] = exc
        done.set()

    loop.call_soon_threadsafe(call)
    assert done.wait(WAIT_S), "the loop did not run the call"
    if "error" in box:
        raise box["error"]
    return box.get("result")


class Item:
    """A watched object: counts on_deadline() calls, optionally unwatching itself on the first."""

    def __init__(self, deadline, loop=None):
        self.deadline, self.calls, self.fired, self._loop = deadline, 0, threading.Event(), loop

    def on_deadline(self):
        self.calls += 1
        self.fired.set()
        if self._loop is not None:
            self._loop.unwatch(self)


def wait_ticks(loop, n=3):
    """Wait until the loop has run its deadline check at least `n` more times (a past-due probe fires)."""
    probe = Item(time.monotonic() - 1)
    on_loop(loop, loop.watch, probe)
    for _ in range(50):
        if probe.calls >= n:
            break
        probe.fired.clear()
        probe.fired.wait(1.0)
    on_loop(loop, loop.unwatch, probe)
    assert probe.calls >= n


# readiness

def test_registered_socket_gets_the_read_mask_when_the_peer_writes(loop, pair):
    a, b = pair
    got, ready = [], threading.Event()

    def on_ready(mask):
        got.append((mask, a.recv(100), threading.current_thread() is loop.thread))
        ready.set()

    on_loop(loop, loop.register, a, READ, on_ready)
    assert not ready.wait(0.3)  # nothing to read yet
    b.sendall(b"ping")
    assert ready.wait(WAIT_S)
    assert got[0] == (READ, b"ping", True)


def test_modify_to_write_and_unregister(loop, pair):
    a, b = pair
    got, writable = [], threading.Event()

    def on_write(mask):
        got.append(mask)
        loop.unregister(a)  # writable stays true: without this the callback would run every iteration
        writable.set()

    def register_then_modify():  # one loop step: the READ registration never reaches select()
        loop.register(a, READ, lambda mask: got.append(("read", mask)))
        loop.modify(a, WRITE, on_write)

    b.sendall(b"unread")  # readable too: the callback must still get WRITE only
    on_loop(loop, register_then_modify)
    assert writable.wait(WAIT_S)
    wait_ticks(loop, 2)
    assert got == [WRITE]


def test_unregister_of_an_unknown_or_closed_socket_does_not_raise(loop):
    stranger, other = socket.socketpair()
    try:
        assert on_loop(loop, loop.unregister, stranger) is None
        stranger.close()
        assert on_loop(loop, loop.unregister, stranger) is None
    finally:
        other.close()


# cross-thread and same-thread calls

def test_call_soon_threadsafe_runs_in_order_on_the_loop_thread(loop):
    seen, done = [], threading.Event()

    def post():
        for i in range(50):
            loop.call_soon_threadsafe(lambda i=i: seen.append((i, threading.current_thread() is loop.thread)))
        loop.call_soon_threadsafe(done.set)

    poster = threading.Thread(target=post, daemon=True)
    poster.start()
    poster.join(WAIT_S)
    assert done.wait(WAIT_S)
    assert seen == [(i, True) for i in range(50)]


def test_call_soon_from_a_callback_runs_after_the_current_callbacks(loop):
    order = []

    def first():
        order.append("first")
        loop.call_soon(order.append, "scheduled by first")
        order.append("first ends")

    def schedule():
        loop.call_soon(first)
        loop.call_soon(order.append, "second")

    on_loop(loop, schedule)
    on_loop(loop, lambda: None)  # posted after everything above, so runs after it
    assert order == ["first", "first ends", "second", "scheduled by first"]


# deadlines

def test_past_deadline_fires_none_and_future_do_not(loop):
    past, future, never = Item(time.monotonic() - 0.01), Item(time.monotonic() + 60), Item(None)
    for item in (future, never, past):
        on_loop(loop, loop.watch, item)
    assert past.fired.wait(2.0)  # the tick is 0.1 s: normally called within ~0.2 s
    wait_ticks(loop, 2)
    assert past.calls >= 2  # still due, still watched: called on every tick
    assert future.calls == 0 and never.calls == 0


def test_unwatch_stops_deadline_calls(loop):
    self_removing = Item(time.monotonic() - 1, loop)
    removed = Item(time.monotonic() - 1)
    on_loop(loop, loop.watch, self_removing)
    on_loop(loop, loop.watch, removed)
    assert removed.fired.wait(WAIT_S) and self_removing.fired.wait(WAIT_S)
    on_loop(loop, loop.unwatch, removed)
    on_loop(loop, loop.unwatch, Item(None))  # never watched: no error
    calls = removed.calls
    wait_ticks(loop, 3)
    assert removed.calls == calls and self_removing.calls == 1


# errors and stop

def test_an_exception_in_a_callback_is_logged_and_the_loop_keeps_running(loop, pair, caplog):
    a, b = pair

    def boom(*_):
        raise RuntimeError("callback bug")

    def read_then_boom(mask):
        a.recv(100)
        boom()

    bad_item = Item(time.monotonic() - 1)
    bad_item.on_deadline = boom
    with caplog.at_level(logging.ERROR, logger="tresor.server"):
        loop.call_soon_threadsafe(boom)
        assert on_loop(loop, lambda: 42) == 42
        on_loop(loop, loop.register, a, READ, read_then_boom)
        b.sendall(b"x")
        on_loop(loop, loop.watch, bad_item)
        for _ in range(100):
            if len([r for r in caplog.records if r.exc_info]) >= 3:
                break
            time.sleep(0.05)
        on_loop(loop, loop.unregister, a)
        on_loop(loop, loop.unwatch, bad_item)
        assert on_loop(loop, lambda: "alive") == "alive"
    errors = [r for r in caplog.records if r.name == "tresor.server" and r.exc_info]
    assert len(errors) >= 3
    assert all("unhandled error in the event loop" in r.getMessage() for r in errors)
    assert all(isinstance(r.exc_info[1], RuntimeError) for r in errors)


def test_stop_makes_run_return_and_closes_the_selector():
    loop = EventLoop()
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    on_loop(loop, lambda: None)
    assert loop.thread is thread and loop._selector.get_map() is not None
    loop.stop()
    thread.join(WAIT_S)
    assert not thread.is_alive()
    assert loop._selector.get_map() is None and loop._waker_r.fileno() == -1
    loop.call_soon_threadsafe(lambda: None)  # after the end: no error


def test_stop_from_a_callback_on_the_loop_thread():
    loop = EventLoop()
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(WAIT_S)
    assert not thread.is_alive() and loop._selector.get_map() is None


# Workers

def _wait_for(predicate, timeout=WAIT_S):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_tasks_run_concurrently():
    workers = Workers(idle_s=0.2)
    release, first_started, second_ran = threading.Event(), threading.Event(), threading.Event()

    def blocker():
        first_started.set()
        release.wait(WAIT_S)

    try:
        workers.submit(blocker)
        assert first_started.wait(WAIT_S)
        workers.submit(second_ran.set)
        assert second_ran.wait(WAIT_S), "the second task waited behind the blocked one"
        assert not release.is_set()
    finally:
        release.set()


def test_an_idle_worker_is_reused_and_exits_after_idle_s():
    baseline = threading.active_count()
    workers = Workers(idle_s=0.2)
    threads = []

    def record(done):
        threads.append(threading.current_thread())
        done.set()

    for _ in range(3):
        done = threading.Event()
        workers.submit(record, done)
        assert done.wait(WAIT_S)
        # the worker counts itself idle just after the task returns; submit only after that
        assert _wait_for(lambda: workers._idle == 1)
    assert len(threads) == 3 and threads[0] is threads[1] is threads[2]
    assert threads[0].name == "tresor-worker" and threads[0].daemon
    threads[0].join(2.0)
    assert not threads[0].is_alive(), "the idle worker did not exit after idle_s"
    assert workers._idle == 0
    assert _wait_for(lambda: threading.active_count() <= baseline, 2.0)


def test_an_exception_in_a_task_is_logged_and_the_worker_survives(caplog):
    workers = Workers(idle_s=0.5)
    idents, done = [], threading.Event()

    def boom():
        idents.append(threading.get_ident())
        raise ValueError("task bug")

    with caplog.at_level(logging.ERROR, logger="tresor.server"):
        workers.submit(boom)
        assert _wait_for(lambda: workers._idle == 1)
        workers.submit(lambda: (idents.append(threading.get_ident()), done.set()))
        assert done.wait(WAIT_S)
    assert len(idents) == 2 and idents[0] == idents[1]
    errors = [r for r in caplog.records if "unhandled error in a worker thread" in r.getMessage()]
    assert len(errors) == 1 and isinstance(errors[0].exc_info[1], ValueError)

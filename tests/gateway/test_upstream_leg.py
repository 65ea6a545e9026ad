"""upstream_leg: event cuts equal to the threaded relay's, what may run on the loop, the Answer view."""
import io

from hypothesis import given, settings, strategies as st

from tresor.gateway import http1, upstream_leg
from tresor.gateway.exchange import Exchange
from tresor.gateway.paths import Endpoint
from tresor.httpio import Request


def _readline_cuts(data: bytes):
    """The threaded relay's cut (relay._passthrough): lines until a line that is only LF or CRLF."""
    cuts, pending = [], []
    for line in io.BytesIO(data):
        pending.append(line)
        if line in (b"\n", b"\r\n"):
            cuts.append(b"".join(pending))
            pending = []
    return cuts, b"".join(pending)


def test_events_are_cut_at_blank_lines_with_lf_or_crlf():
    buf = bytearray(b"data: a\n\n: comment\r\n\r\n\ndata: b\ndata: c\n\ndata: part")
    assert upstream_leg._split_events(buf) == [b"data: a\n\n", b": comment\r\n\r\n", b"\n",
                                               b"data: b\ndata: c\n\n"]
    assert buf == bytearray(b"data: part")
    assert upstream_leg._split_events(buf) == [] and buf == bytearray(b"data: part")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([b"data: x", b"event: e", b": c", b"", b"data: {\"a\":1}", b"\r"]), max_size=30),
       st.lists(st.sampled_from([b"\n", b"\r\n"]), min_size=30, max_size=30),
       st.lists(st.integers(min_value=1, max_value=9), max_size=40))
def test_incremental_cuts_equal_the_threaded_relays_however_bytes_arrive(lines, ends, splits):
    data = b"".join(line + end for line, end in zip(lines, ends))
    expected, expected_tail = _readline_cuts(data)
    buf, got, start = bytearray(), [], 0
    for size in splits + [len(data)]:
        buf += data[start:start + size]
        start += size
        got += upstream_leg._split_events(buf)
    assert got == expected and bytes(buf) == expected_tail


def _exchange(is_stream=False, steps=(), tee=None):
    x = Exchange(Request("POST", "/v1/chat/completions"), Endpoint("generate", "openai"), client_format="openai")
    x.is_stream, x.steps, x.tee = is_stream, steps, tee
    return x


class _Step:
    def __init__(self, **hooks):
        self.plugin = type("P", (), hooks)()
        self.rule_id = None


def test_the_loop_forwards_unless_capturing_or_a_stream_is_transformed():
    assert upstream_leg.runs_in_loop(_exchange())
    assert upstream_leg.runs_in_loop(_exchange(is_stream=True))
    assert not upstream_leg.runs_in_loop(_exchange(tee=object()))
    stream_hook = _Step(stream=lambda self, x, events: events)
    assert not upstream_leg.runs_in_loop(_exchange(is_stream=True, steps=(stream_hook,)))
    assert upstream_leg.runs_in_loop(_exchange(is_stream=False, steps=(stream_hook,)))


def test_answer_reads_like_an_upstream_response():
    head, used = http1.response_head(b"HTTP/1.1 429 Too Many\r\nContent-Type: text/event-stream; x=1\r\n"
                                     b"Retry-After: 3\r\nContent-Length: 2\r\n\r\nhi", "POST")
    closed = []
    answer = upstream_leg.Answer(head, b"hi", lambda: closed.append(True))
    assert (answer.status, answer.reason, answer.read()) == (429, "Too Many", b"hi")
    assert answer.header("retry-after") == "3" and answer.is_event_stream
    answer.close()
    assert closed == [True] and used == len(b"HTTP/1.1 429 Too Many\r\nContent-Type: text/event-stream; x=1\r\n"
                                               b"Retry-After: 3\r\nContent-Length: 2\r\n\r\n")

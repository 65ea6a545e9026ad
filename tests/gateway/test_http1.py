"""http1: header reading, request bytes, Response framing over BytesIO, head_end/response_head, ChunkedDecoder."""
import email.utils
import http.client
import io
import re
import time

import pytest
from hypothesis import given, settings, strategies as st

from tresor.gateway import http1


def _headers(data: bytes, is_strict: bool = False):
    return http1.read_headers(io.BytesIO(data).readline, is_strict)


def _response(data: bytes, method: str = "GET"):
    return http1.Response(io.BytesIO(data), method)


def _chunked(chunks, trailers: bytes = b"") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n" + trailers + b"\r\n"


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


# read_headers

def test_headers_keep_order_case_and_duplicates_and_stop_at_the_blank_line():
    fp = io.BytesIO(b"X-B: 1\r\nx-a:  two \r\nX-B: 3\nContent-Type:text/plain\r\n\r\nbody")
    assert http1.read_headers(fp.readline) == [("X-B", "1"), ("x-a", "two"), ("X-B", "3"),
                                               ("Content-Type", "text/plain")]
    assert fp.read() == b"body"
    assert _headers(b"") == [] and _headers(b"\n") == []


def test_obsolete_folding_continues_the_previous_value_and_lines_without_colon_are_skipped():
    assert _headers(b"A: one\r\n  two\r\n\tthree\r\nno colon here\r\nB: b\r\n\r\n") == [
        ("A", "one two three"), ("B", "b")]
    assert _headers(b"A:\r\n more\r\n\r\n") == [("A", "more")]
    assert _headers(b"A: 1\r\n\r\n", is_strict=True) == [("A", "1")]


@pytest.mark.parametrize("line", [b"A : 1\r\n", b"A\t: 1\r\n", b": 1\r\n"])
def test_strict_refuses_whitespace_before_the_colon_and_an_empty_name(line):
    with pytest.raises(http1.MalformedHeader):
        _headers(b"Ok: 1\r\n" + line + b"\r\n", is_strict=True)
    assert issubclass(http1.MalformedHeader, http.client.HTTPException)
    assert _headers(line + b"\r\n") == [(line.split(b":")[0].strip().decode(), "1")]  # lenient: name trimmed


def test_header_line_and_count_limits():
    assert _headers(b"A: " + b"x" * (http1.MAX_LINE - 5) + b"\r\n\r\n")[0][1] == "x" * (http1.MAX_LINE - 5)
    with pytest.raises(http.client.LineTooLong):
        _headers(b"A: " + b"x" * 65536 + b"\r\n\r\n")
    assert len(_headers(b"A: 1\r\n" * 100 + b"\r\n")) == 100
    with pytest.raises(http.client.HTTPException, match="more than 100"):
        _headers(b"A: 1\r\n" * 101 + b"\r\n")


# request_bytes

def test_request_bytes_is_one_buffer_with_head_and_body():
    data = http1.request_bytes("POST", "/v1/x?a=1", [("Host", "h"), ("Content-Length", 2), ("X", "a\r\n b")], b"{}")
    assert data == b"POST /v1/x?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nX: a\r\n b\r\n\r\n{}"
    assert http1.request_bytes("GET", "/", [], b"") == b"GET / HTTP/1.1\r\n\r\n"


@pytest.mark.parametrize("name,value", [("X", "a\r\nEvil: 1"), ("X", "a\nEvil: 1"), ("X", "a\rEvil: 1"),
                                        ("", "v"), ("A:B", "v"), (" A", "v"), ("A\r\nB", "v"), ("A B\n", "v")])
def test_request_bytes_refuses_header_injection(name, value):
    with pytest.raises(ValueError):
        http1.request_bytes("GET", "/", [("Host", "h"), (name, value)], b"")


@pytest.mark.parametrize("target", ["/a b", "/a\r\nX: 1", "/\x00", "/\x7f", "/\t"])
def test_request_bytes_refuses_control_characters_in_target_and_method(target):
    with pytest.raises(http.client.InvalidURL):
        http1.request_bytes("GET", target, [], b"")
    with pytest.raises(ValueError):
        http1.request_bytes("GET\r\nX: 1", "/", [], b"")
    with pytest.raises(UnicodeEncodeError):
        http1.request_bytes("GET", "/", [("X", "\u20ac")], b"")


# Response

def test_content_length_body_and_what_follows_it_stays_in_the_file():
    fp = io.BytesIO(b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhelloNEXT")
    resp = http1.Response(fp, "POST")
    assert (resp.status, resp.reason, resp.length, resp.chunked, resp.will_close) == (201, "Created", 5, False, False)
    assert resp.headers == [("Content-Length", "5")] and not resp.isclosed()
    assert resp.read() == b"hello" and resp.isclosed() and resp.read() == b""
    assert fp.read() == b"NEXT"
    resp = _response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab\nXX")
    assert resp.readline() == b"ab\n" and resp.isclosed() and resp.readline() == b""


def test_chunked_body_with_extensions_and_trailers():
    body = b"4;name=v\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0;last\r\nTrailer: x\r\n\r\nNEXT"
    fp = io.BytesIO(CHUNKED_HEAD + body)
    resp = http1.Response(fp, "POST")
    assert resp.chunked and resp.length is None and not resp.will_close
    assert resp.read() == b"Wikipedia in\r\n\r\nchunks." and resp.isclosed() and resp.read() == b""
    assert fp.read() == b"NEXT"


def test_until_close_body_reads_to_the_end_and_forces_close():
    resp = _response(b"HTTP/1.1 200 OK\r\n\r\nline1\nline2")
    assert resp.length is None and resp.will_close and resp.readline() == b"line1\n"
    assert resp.read() == b"line2" and resp.isclosed()


@pytest.mark.parametrize("body", [b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nab\ncd\nef\ngh",
                                  CHUNKED_HEAD + _chunked([b"ab\nc", b"d\n", b"ef\ngh"]),
                                  b"HTTP/1.1 200 OK\r\n\r\nab\ncd\nef\ngh"])
def test_readline_and_read1_across_framings(body):
    resp = _response(body)
    assert resp.readline() == b"ab\n" and resp.readline() == b"cd\n" and resp.readline(2) == b"ef"
    rest = b""
    for _ in range(20):
        part = resp.read1(2)
        assert len(part) <= 2
        if not part:
            break
        rest += part
    assert rest == b"\ngh" and resp.isclosed() and resp.readline() == b"" and resp.read1() == b""


def test_interim_1xx_heads_are_skipped_but_101_is_not():
    resp = _response(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                     b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert resp.status == 200 and resp.headers == [("Content-Length", "2")] and resp.read() == b"ok"
    resp = _response(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nraw")
    assert resp.status == 101 and resp.length == 0 and resp.read() == b""


@pytest.mark.parametrize("status,method", [(204, "GET"), (304, "GET"), (200, "HEAD")])
def test_head_204_and_304_have_no_body(status, method):
    resp = _response(b"HTTP/1.1 %d X\r\nContent-Length: 10\r\n\r\n" % status, method)
    assert resp.length == 0 and resp.isclosed() and resp.read() == b"" and not resp.will_close
    resp = _response(b"HTTP/1.1 %d X\r\nTransfer-Encoding: chunked\r\n\r\n" % status, method)
    assert resp.isclosed() and resp.read() == b""


@pytest.mark.parametrize("head,will_close", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", False),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n", True),
    (b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 0\r\n", True),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n", True),
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n", False),
    (b"HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n", False),
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n", True),  # no length: the body runs until close
    (b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n", True),
])
def test_will_close_rules(head, will_close):
    assert _response(head + b"\r\n").will_close is will_close


@pytest.mark.parametrize("body", [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
                                  CHUNKED_HEAD + b"5\r\nhel", CHUNKED_HEAD + b"5\r\nhello\r\n",
                                  CHUNKED_HEAD])
def test_truncated_body_raises_incomplete_read(body):
    with pytest.raises(http.client.IncompleteRead):
        _response(body).read()


@pytest.mark.parametrize("body", [b"zz\r\nhello\r\n0\r\n\r\n", b"-5\r\nhello\r\n0\r\n\r\n",
                                  b"5\r\nhelloX\r\n0\r\n\r\n", b"5\r\nhello0\r\n\r\n"])
def test_broken_chunk_framing_raises_http_exception(body):
    with pytest.raises(http.client.HTTPException) as caught:
        _response(CHUNKED_HEAD + body).read()
    assert not isinstance(caught.value, http.client.IncompleteRead)


@pytest.mark.parametrize("data,error", [(b"", http.client.RemoteDisconnected), (b"HTTX 200 OK\r\n\r\n", http.client.BadStatusLine),
                                        (b"HTTP/1.1 abc OK\r\n\r\n", http.client.BadStatusLine),
                                        (b"HTTP/1.1 99 OK\r\n\r\n", http.client.BadStatusLine)])
def test_bad_status_lines(data, error):
    with pytest.raises(error):
        _response(data)


# head_end and response_head

def test_head_end_finds_crlf_and_bare_lf_heads_and_the_earliest_terminator():
    assert http1.head_end(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody") == 25
    assert http1.head_end(b"HTTP/1.1 200 OK\nA: b\n\nbody") == 22
    assert http1.head_end(b"A\r\n\r\nB\n\nC") == 5 and http1.head_end(b"A\n\nB\r\n\r\nC") == 3
    assert http1.head_end(b"A: b\r\n\nrest") == 7
    assert http1.head_end(b"HTTP/1.1 200 OK\r\nA: b\r\n") == -1 and http1.head_end(b"") == -1
    buf = bytearray(b"X\r\n\r\nY\r\n\r\n")
    assert http1.head_end(buf, 0) == 5 and http1.head_end(buf, 5) == 10 and http1.head_end(buf, 10) == -1


def test_response_head_waits_for_a_whole_head_then_reports_bytes_used():
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody"
    for cut in range(data.index(b"\r\n\r\n") + 3):
        assert http1.response_head(bytearray(data[:cut]), "POST") is None
    resp, used = http1.response_head(bytearray(data), "POST")
    assert used == len(data) - 4 and resp.status == 200 and resp.headers == [("Content-Length", "4")]
    assert (resp.chunked, resp.length, resp.will_close) == (False, 4, False)


def test_response_head_skips_100_and_103_but_not_101():
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    assert http1.response_head(interim, "POST") is None
    final = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    resp, used = http1.response_head(interim + final + b"5\r\n", "POST")
    assert used == len(interim + final) and resp.status == 200
    assert (resp.chunked, resp.length, resp.will_close) == (True, None, False)
    switching = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"
    resp, used = http1.response_head(switching + b"HTTP/1.1 200 OK\r\n\r\n", "GET")
    assert resp.status == 101 and used == len(switching)


@pytest.mark.parametrize("head,method,framing", [
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\n", "GET", (False, 3, True)),
    (b"HTTP/1.0 200 OK\r\n\r\n", "GET", (False, None, True)),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", "HEAD", (False, 0, False)),
    (b"HTTP/1.1 304 Not Modified\n\n", "GET", (False, 0, False)),
])
def test_response_head_framing(head, method, framing):
    resp, used = http1.response_head(head + b"xyz", method)
    assert used == len(head) and (resp.chunked, resp.length, resp.will_close) == framing


def test_response_head_refuses_an_endless_head():
    buf = bytearray(b"HTTP/1.1 200 OK\r\n" + b"X: " + b"y" * (2 * 65536))
    with pytest.raises(http.client.LineTooLong):
        http1.response_head(buf, "GET")
    assert http1.response_head(buf[:2 * 65536], "GET") is None


# ChunkedDecoder

def _feed_all(pieces):
    dec, out = http1.ChunkedDecoder(), []
    for piece in pieces:
        out.append(dec.feed(piece))
    return dec, b"".join(out)


def test_decoder_whole_and_byte_by_byte_agree_and_done_only_after_the_trailers():
    stream = b"4;ext=1\r\nWiki\r\n5\npedia\n0\r\nTrailer: x\r\n\r\nLEFT"
    dec, whole = _feed_all([stream])
    assert whole == b"Wikipedia" and dec.done and dec.leftover == b"LEFT"
    dec = http1.ChunkedDecoder()
    out = b""
    end = stream.index(b"LEFT")
    for i in range(len(stream)):
        out += dec.feed(stream[i:i + 1])
        assert dec.done == (i >= end - 1), i
        assert dec.leftover == (stream[end:i + 1] if dec.done else b"")
    assert out == whole and dec.leftover == b"LEFT"


def test_decoder_is_not_done_before_the_blank_line_after_the_last_chunk():
    dec = http1.ChunkedDecoder()
    assert dec.feed(b"3\r\nabc\r\n0\r\n") == b"abc" and not dec.done and dec.leftover == b""
    assert dec.feed(b"T: 1\r\n") == b"" and not dec.done
    assert dec.feed(b"\r\n") == b"" and dec.done and dec.feed(b"more") == b"" and dec.leftover == b"more"


@pytest.mark.parametrize("stream", [b"zz\r\n", b"-2\r\nab\r\n0\r\n\r\n", b"3\r\nabcd\r\n", b"3\r\nabc0\r\n\r\n", b"\r\n"])
def test_decoder_errors(stream):
    with pytest.raises(http.client.HTTPException):
        _feed_all([stream])
    with pytest.raises(http.client.HTTPException):
        _feed_all([stream[i:i + 1] for i in range(len(stream))])


def test_decoder_refuses_an_over_long_size_line():
    dec = http1.ChunkedDecoder()
    with pytest.raises(http.client.LineTooLong):
        for _ in range(10):
            dec.feed(b"0" * 10000)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=40), max_size=8),
       st.lists(st.integers(min_value=0, max_value=400), max_size=10),
       st.sampled_from([b"", b"X-Sum: 1\r\n"]), st.booleans())
def test_incremental_decoding_equals_the_payload_and_response_read(chunks, cuts, trailers, with_ext):
    encoded = b"".join(b"%x%s\r\n%s\r\n" % (len(c), b";e=1" if with_ext else b"", c) for c in chunks)
    encoded += b"0\r\n" + trailers + b"\r\n"
    points = sorted({min(c, len(encoded)) for c in cuts})
    pieces = [encoded[a:b] for a, b in zip([0] + points, points + [len(encoded)])]
    dec, out = _feed_all(pieces)
    payload = b"".join(chunks)
    assert out == payload and dec.done and dec.leftover == b""
    assert http1.Response(io.BytesIO(CHUNKED_HEAD + encoded), "POST").read() == payload


# DateCache

def test_date_cache_formats_rfc7231_dates_once_per_second():
    cache = http1.DateCache()
    pattern = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                         r"\d{4} \d\d:\d\d:\d\d GMT")
    for _ in range(20):  # retry when a second boundary falls between the two calls
        before = int(time.time())
        first, second = cache.now(), cache.now()
        if int(time.time()) == before:
            break
    assert pattern.fullmatch(first) and second is first
    assert abs(email.utils.parsedate_to_datetime(first).timestamp() - time.time()) < 5


# Regressions found while writing these tests.

def test_a_head_with_a_bare_lf_line_before_a_crlf_blank_line_ends_at_that_blank_line():
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 4\n\r\nab\n\nXX"
    assert http1.head_end(data) == data.index(b"ab")
    head, used = http1.response_head(data, "POST")
    assert head.length == 4 and data[used:used + 4] == b"ab\n\n"


def test_decoder_refuses_an_over_long_size_line_however_it_arrives():
    with pytest.raises(http.client.LineTooLong):
        http1.ChunkedDecoder().feed(b"0" * 70000 + b"1\r\nx\r\n0\r\n\r\n")


def test_decoder_refuses_more_trailers_than_a_response_may_have_headers():
    stream = b"0\r\n" + b"T: 1\r\n" * 200 + b"\r\n"
    with pytest.raises(http.client.HTTPException):
        http1.Response(io.BytesIO(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + stream), "GET").read()
    with pytest.raises(http.client.HTTPException):
        http1.ChunkedDecoder().feed(stream)


def test_strict_refuses_whitespace_before_the_first_header_line():
    with pytest.raises(http1.MalformedHeader):
        http1.read_headers(io.BytesIO(b" X: 1\r\nB: 2\r\n\r\n").readline, is_strict=True)
    assert http1.read_headers(io.BytesIO(b"A: 1\r\n  more\r\n\r\n").readline, is_strict=True) == [("A", "1 more")]

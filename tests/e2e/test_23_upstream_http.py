"""How the gateway speaks HTTP/1.1 to its upstreams, seen from outside: answer framing
(chunked, Content-Length, close-delimited, written a byte at a time), keep-alive and the
pooled connections' lives, interim answers, broken and oversized answers, timeouts, the
upstream's certificate, and the exact request the gateway writes.

The upstream is tests/sandbox/rawhttp.py, scripted byte for byte per connection and per request;
the route is a tiny JSON mapping written into the test's folder ({"msg"} out, {"answer"} back),
with no login. Every case asserts what the city system sees, and runs with both upstream clients
(`client: native`, gateway/h1client.c, and `client: curl`, gateway/curlclient.c); the suite was
written against libcurl first, to prove the native client equal or better. `curl_gets_wrong`
marks, as a strict xfail, what libcurl gets wrong.
"""

import json
import time

import pytest

from harness import CITY_CN, GATEWAY_CN, assert_error, free_port
from rawhttp import (CLOSE, DROP, HANG, Conn, Pause, RawUpstream, chunked, head, reply,
                     trickle)

ROUTE = "/v1/raw/echo"
QUERY_ROUTE = "/v1/raw/query"
UP_PATH = "/partner/api/v2/messages?lang=vi&format=json"
# The upstream's configured headers, sent with every call.
UP_HEADERS = {"X-Partner-Key": "pk-7f3a", "X-Unit-Code": "000.00.00.H26"}
RESPONSE_LIMIT = 8 * 1024 * 1024   # gateway/upstream.c UPSTREAM_MAX_RESPONSE; pipeline.c sets no other
SHORT_TOTAL = 1.5                  # seconds: the total timeout of the timeout cases

ECHO_MAPPING = """\
request:
  in: json
  out: json
  fields:
    msg: { from: msg, required: true, type: string }
response:
  in: json
  out: json
  fields:
    answer: { from: answer, type: string, default: "" }
"""

# The same call from a GET's query string (`in: query`, as VNPAY's IPN arrives).
QUERY_MAPPING = """\
request:
  in: query
  out: json
  fields:
    msg: { from: msg, required: true, type: string }
response:
  fields:
    answer: { from: answer, type: string, default: "" }
"""


def ok(text, headers=()):
    """A 200 JSON answer whose mapped form is {"answer": text}."""
    return reply(200, json.dumps({"answer": text}).encode(), headers=(("Content-Type", "application/json"),)
                 + tuple(headers))


def answer_of(r):
    assert r.status == 200, f"{r.status}: {r.text()[:500]}"
    assert (r.header("Content-Type") or "").startswith("application/json"), r.header("Content-Type")
    return r.json()["answer"]


def wait_for(cond, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        time.sleep(0.02)


@pytest.fixture
def upstream(request, pki):
    """The scripted upstream: mutual TLS with sandbox.crt (the default), or plain TCP when a
    test is parametrized with indirect "plain"."""
    transport = getattr(request, "param", "tls")
    tls = None if transport == "plain" else {"cert": pki["sandbox.crt"], "key": pki["sandbox.key"],
                                             "client_ca": pki["ca.crt"]}
    srv = RawUpstream(tls=tls).start()
    yield srv
    assert not srv.stop(), "rawhttp threads still running after stop"


@pytest.fixture(params=["native", "curl"])
def client(request):
    """The upstream client every test of this file runs with."""
    return request.param


def curl_gets_wrong(request, client, reason):
    if client == "curl":
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def start_gateway(gateway, pki, tmp_path, up, client, total="5s", connect=None, url=None, max_body="64KiB"):
    """A gateway whose route POST ROUTE (and GET QUERY_ROUTE) calls the upstream `raw` at
    url (default: up's) + UP_PATH, with UP_HEADERS and no auth, through `client`."""
    (tmp_path / "echo.yaml").write_text(ECHO_MAPPING, encoding="utf-8")
    (tmp_path / "query.yaml").write_text(QUERY_MAPPING, encoding="utf-8")
    url = url or up.url
    raw = {"url": url, "client": client, "headers": dict(UP_HEADERS),
           "timeout": {"connect": connect or total, "total": total}}
    if url.startswith("https:"):
        raw["tls"] = {"ca": pki["ca.crt"], "cert": pki["gw-client.crt"], "key": pki["gw-client.key"]}
    route = {"listener": "public", "allow": ["CN=" + CITY_CN], "upstream": "raw", "mode": "sync",
             "path": UP_PATH}
    extra = {"upstreams": {"raw": raw}, "routes": {
        "raw.echo": dict(route, match={"method": "POST", "path": ROUTE}, mapping=str(tmp_path / "echo.yaml")),
        "raw.query": dict(route, match={"method": "GET", "path": QUERY_ROUTE},
                          mapping=str(tmp_path / "query.yaml")),
    }}
    # The DVCQG routes of the base config stay, pointing nowhere: nothing here calls them.
    return gateway(upstream_url=f"https://127.0.0.1:{free_port()}/adapter", extra=extra, max_body=max_body)


@pytest.fixture
def gw(gateway, pki, tmp_path, upstream, client):
    return start_gateway(gateway, pki, tmp_path, upstream, client)


def call(gw, msg="xin chào", **kw):
    return gw.post(ROUTE, {"msg": msg}, **kw)


# ---- framing: the answer arrives whole, however it is cut -------------------------------------

BOTH = pytest.mark.parametrize("upstream", ["tls", "plain"], indirect=True)


@BOTH
def test_chunked_answer_with_extensions_and_trailer(gw, upstream):
    body = json.dumps({"answer": "từng khúc"}, ensure_ascii=False).encode()
    # The second cut falls inside the UTF-8 of "ừ".
    upstream.script(Conn(chunked([body[:1], body[1:14], body[14:]], ext=[b";name=value", b';q="a b";flag'],
                                 trailers=[("X-Checksum", "9f2c"), ("X-Count", "3")])))
    assert answer_of(call(gw)) == "từng khúc"


@BOTH
def test_answer_one_byte_per_write(gw, upstream):
    """Status line, headers, chunk sizes and data each cut at every byte."""
    body = json.dumps({"answer": "byte by byte"}).encode()
    upstream.script(Conn(trickle(chunked([body[:10], body[10:]]), size=1, pause=0.002)))
    assert answer_of(call(gw)) == "byte by byte"


@BOTH
def test_content_length_answer_over_many_writes(gw, upstream):
    text = "ô" * 30000     # 60 000 bytes of UTF-8, cut inside characters as well
    data = ok(text)
    upstream.script(Conn(trickle(data[:60], size=3, pause=0.003) + trickle(data[60:], size=4093, pause=0.005)))
    assert answer_of(call(gw)) == text


@BOTH
@pytest.mark.parametrize("status_line, headers", [
    ("HTTP/1.0 200 OK", ()),
    ("HTTP/1.1 200 OK", (("Connection", "close"),)),
], ids=["http-1.0", "http-1.1-connection-close"])
def test_answer_delimited_by_close(gw, upstream, status_line, headers):
    version, _status, reason = status_line.split(" ")
    body = json.dumps({"answer": "until EOF"}).encode()
    upstream.script(Conn([head(200, (("Content-Type", "application/json"),) + headers, reason=reason,
                               version=version), Pause(0.05), body, Pause(0.05), CLOSE]),
                    Conn(then=ok("second")))
    assert answer_of(call(gw)) == "until EOF"
    # That connection cannot carry another call.
    assert answer_of(call(gw)) == "second"
    assert [len(c["requests"]) for c in upstream.connections] == [1, 1]


@pytest.mark.parametrize("interim", [
    head(100),
    head(102, reason="Processing") + head(103, (("Link", "</style.css>; rel=preload"),), reason="Early Hints"),
], ids=["100-continue", "102-and-103"])
def test_interim_answers_before_the_final_one(gw, upstream, interim):
    upstream.script(Conn([interim, Pause(0.05), ok("final")]))
    assert answer_of(call(gw)) == "final"


# ---- keep-alive ------------------------------------------------------------------------------

@BOTH
def test_sequential_calls_reuse_one_connection(gw, upstream):
    upstream.script(Conn(ok("one"), ok("two"), ok("three")))
    assert [answer_of(call(gw, f"m{n}")) for n in (1, 2, 3)] == ["one", "two", "three"]
    [conn] = upstream.connections
    assert [json.loads(r["body"])["msg"] for r in conn["requests"]] == ["m1", "m2", "m3"]
    assert conn["peer_cn"] == (GATEWAY_CN if upstream.url.startswith("https") else None)


def test_connection_close_in_an_answer_retires_the_connection(gw, upstream):
    """The upstream says `Connection: close` but leaves the socket open: the next call still
    goes on a new connection."""
    upstream.script(Conn(ok("one", headers=[("Connection", "close")]), then=ok("stale")),
                    Conn(then=ok("fresh")))
    assert answer_of(call(gw)) == "one"
    assert answer_of(call(gw)) == "fresh"
    assert [len(c["requests"]) for c in upstream.connections] == [1, 1]


@pytest.mark.parametrize("how", [CLOSE, DROP], ids=["close-notify", "fin-only"])
def test_upstream_closes_an_idle_pooled_connection(gw, upstream, how):
    upstream.script(Conn([ok("one"), Pause(0.1), how]), Conn(then=ok("two")))
    assert answer_of(call(gw)) == "one"
    wait_for(lambda: upstream.connections[0]["closed"] == "server", "the upstream to close")
    assert answer_of(call(gw)) == "two"
    assert [len(c["requests"]) for c in upstream.connections] == [1, 1]


def test_bytes_after_an_answer_never_answer_the_next_call(gw, upstream):
    """A second answer glued after the first (a desynchronised or hostile upstream) must not be
    taken as the answer to the next call on that connection."""
    smuggled = ok("smuggled")
    upstream.script(Conn(ok("one") + smuggled, then=ok("two")), otherwise=Conn(then=ok("two")))
    assert answer_of(call(gw)) == "one"
    assert answer_of(call(gw)) == "two"


def test_a_call_the_upstream_has_read_is_not_sent_again(gw, upstream, request, client):
    """A kept-alive connection on which the upstream reads the whole next call, then closes
    without a word: the upstream may have applied it (a payment, a filing), so resending it
    could apply it twice. The city gets a 502 and decides; the upstream heard the call once.
    (A connection that closed while idle, before the call, is another case: see
    test_upstream_closes_an_idle_pooled_connection.)"""
    curl_gets_wrong(request, client, "libcurl resends the POST on a new connection when a reused one "
                    "closes after the upstream read it; docs/config.md: sync calls are never retried")
    upstream.script(Conn(ok("one"), then=None), otherwise=Conn(then=ok("two")))
    assert answer_of(call(gw, "m1")) == "one"
    r = call(gw, "m2")
    heard = [json.loads(q["body"])["msg"] for q in upstream.requests]
    assert heard == ["m1", "m2"], f"the upstream heard {heard}; the city got {r.status} {r.text()[:200]}"
    assert_error(r, 502, "upstream.protocol", route="raw.echo")


# ---- broken answers --------------------------------------------------------------------------

@pytest.mark.parametrize("how", [CLOSE, DROP], ids=["close-notify", "fin-only"])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_truncated_body(gw, upstream, how, framing):
    body = json.dumps({"answer": "x" * 100}).encode()
    if framing == "chunked":
        data = head(200, (("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")))
        data += b"%x\r\n" % len(body) + body[:40]
    else:
        data = reply(200, body)[:-60]
    upstream.script(Conn([data, Pause(0.05), how]))
    assert_error(call(gw), 502, "upstream.protocol", route="raw.echo")


@pytest.mark.parametrize("status_line", [
    b"HTTP/1.1 2OO OK",
    b"HTTX/1.1 200 OK",
    b"hello, world",
    b"\x16\x03\x01\x00\x05hello",
], ids=["letters-in-status", "not-http", "text", "binary"])
def test_bad_status_line(gw, upstream, status_line):
    body = json.dumps({"answer": "never"}).encode()
    upstream.script(Conn([status_line + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body, Pause(0.05), CLOSE]))
    assert_error(call(gw), 502, "upstream.protocol", route="raw.echo")


@pytest.mark.parametrize("size_line", [b"zz", b"-1", b"10000000000000000"], ids=["not-hex", "negative", "overflow"])
def test_bad_chunk_size(gw, upstream, size_line):
    data = head(200, (("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")))
    upstream.script(Conn([data + size_line + b"\r\n{}\r\n0\r\n\r\n", Pause(0.05), CLOSE]))
    assert_error(call(gw), 502, "upstream.protocol", route="raw.echo")


@pytest.mark.parametrize("lengths", [
    lambda n: [str(n), str(n - 5)],
    lambda n: [f"{n}, {n - 5}"],
    lambda n: [f"{n}x"],
    lambda n: [f"+{n}"],
], ids=["two-headers", "list", "trailing-junk", "plus-sign"])
def test_invalid_content_length(gw, upstream, lengths, request, client):
    """RFC 9112 §6.3: differing or malformed Content-Length values make the answer's framing
    invalid, an unrecoverable error; guessing a length lets the upstream choose where the body
    ends (and the next answer starts)."""
    curl_gets_wrong(request, client, "libcurl reads the number at the start of each Content-Length "
                    "and keeps the last header's")
    body = json.dumps({"answer": "which length?"}).encode()
    data = head(200, [("Content-Type", "application/json")] + [("Content-Length", v) for v in lengths(len(body))])
    upstream.script(Conn([data + body, Pause(0.05), CLOSE]))
    assert_error(call(gw), 502, "upstream.protocol", route="raw.echo")


def filler_headers(kib):
    return [(f"X-Filler-{i}", "f" * 1000) for i in range(kib)]


def test_header_block_over_the_limit(gw, upstream):
    """32 KiB of headers (an IIS answer heavy with cookies) are read; 400 KiB are refused, not
    buffered without end. libcurl's limit is 300 KiB."""
    huge = [head(200, [("Content-Type", "application/json")] + filler_headers(400)), Pause(0.05),
            b"Content-Length: 2\r\n\r\n{}", Pause(0.05), CLOSE]
    upstream.script(Conn(ok("many headers", headers=filler_headers(32)), huge), otherwise=Conn(huge))
    assert answer_of(call(gw)) == "many headers"
    r = call(gw)
    assert len(upstream.requests) == 2
    assert_error(r, 502, r.json()["error"]["code"], route="raw.echo")
    assert r.json()["error"]["code"] in ("upstream.protocol", "upstream.too_large"), r.text()


def big_answer(size):
    """A JSON answer of exactly `size` bytes: {"answer":"xxx..."}."""
    body = json.dumps({"answer": ""}).encode()
    return body[:-2] + b"x" * (size - len(body)) + body[-2:]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_answer_over_the_response_limit(gw, upstream, framing):
    body = big_answer(RESPONSE_LIMIT + 1)
    if framing == "chunked":
        data = chunked([body[i:i + 65536] for i in range(0, len(body), 65536)])
    else:
        data = reply(200, body)
    upstream.script(Conn([data, Pause(0.05), CLOSE]))
    err = assert_error(call(gw), 502, "upstream.too_large", route="raw.echo")
    assert str(RESPONSE_LIMIT) in err["message"], err


def test_answer_at_the_response_limit(gw, upstream):
    upstream.script(Conn(reply(200, big_answer(RESPONSE_LIMIT))))
    r = call(gw, timeout=60)
    assert r.status == 200, r.text()[:300]
    assert len(r.json()["answer"]) == RESPONSE_LIMIT - len(b'{"answer": ""}')


def test_fresh_connection_closed_without_a_byte(gw, upstream):
    upstream.script(Conn(then=None), Conn(then=ok("should not be asked")))
    assert_error(call(gw), 502, "upstream.protocol", route="raw.echo")
    # A new connection that dies unanswered is not a stale pooled one: the call is not resent.
    assert len(upstream.requests) == 1, upstream.requests


@pytest.mark.parametrize("answer", [
    reply(204, b"", headers=()),
    reply(200, b"<html><body>Service Unavailable</body></html>", headers=(("Content-Type", "text/html"),)),
    reply(200, b"", headers=(("Content-Type", "application/json"),)),
    reply(200, b'{"answer": "cut', headers=(("Content-Type", "application/json"),)),
], ids=["204", "html", "empty-json", "invalid-json"])
def test_answer_that_is_not_json(gw, upstream, answer):
    """The mapping expects JSON: whatever came, the city gets a clear JSON error, and the gateway
    serves the next call."""
    upstream.script(Conn(answer, then=ok("next")), otherwise=Conn(then=ok("next")))
    err = assert_error(call(gw), 502, "upstream.bad_response", route="raw.echo")
    assert "could not be mapped" in err["message"], err
    assert answer_of(call(gw)) == "next"


# ---- time ------------------------------------------------------------------------------------

@pytest.mark.parametrize("script", [
    Conn([b"HTTP/1.1 200 OK\r\n", HANG]),
    # one byte every 100 ms: the total timeout bounds the whole call, not the gaps between reads
    Conn(trickle(ok("slowly, slowly"), size=1, pause=0.1)),
], ids=["status-line-then-silence", "trickle"])
def test_upstream_too_slow(gateway, pki, tmp_path, upstream, script, client):
    upstream.script(script)
    gw = start_gateway(gateway, pki, tmp_path, upstream, client, total=f"{int(SHORT_TOTAL * 1000)}ms")
    t0 = time.monotonic()
    r = call(gw)
    elapsed = time.monotonic() - t0
    assert_error(r, 504, "upstream.timeout", route="raw.echo")
    # Generous upper bound: a loaded 2-core machine; the point is that it does not hang.
    assert SHORT_TOTAL - 0.2 <= elapsed <= SHORT_TOTAL + 8, f"504 after {elapsed:.2f}s"


def test_tls_handshake_never_answered(gateway, pki, tmp_path, upstream, client):
    """The TCP connection is accepted, the ClientHello never answered: the connect timeout (1 s)
    ends the call, well before the total one (6 s)."""
    upstream.script(Conn(mute=True))
    gw = start_gateway(gateway, pki, tmp_path, upstream, client, connect="1s", total="6s")
    t0 = time.monotonic()
    r = call(gw)
    elapsed = time.monotonic() - t0
    assert_error(r, 504, "upstream.timeout", route="raw.echo")
    assert 0.8 <= elapsed < 5, f"504 after {elapsed:.2f}s"
    assert upstream.connections and upstream.requests == []


# ---- names and certificates ------------------------------------------------------------------

def test_upstream_by_host_name(gateway, pki, tmp_path, upstream, client):
    """`localhost` is resolved, and matched against the certificate's DNS name."""
    upstream.script(Conn(then=ok("by name")))
    gw = start_gateway(gateway, pki, tmp_path, upstream, client, url=f"https://localhost:{upstream.port}")
    assert answer_of(call(gw)) == "by name"
    assert upstream.requests[0].header("Host") == f"localhost:{upstream.port}"


def test_certificate_for_another_host(gateway, pki, tmp_path, client):
    """sandbox.crt chains to the trusted CA but names localhost and 127.0.0.1; the upstream is
    127.0.0.2. (An unknown CA and a pin mismatch: test_02_tls.py.)"""
    srv = RawUpstream(tls={"cert": pki["sandbox.crt"], "key": pki["sandbox.key"], "client_ca": pki["ca.crt"]},
                      host="127.0.0.2").start()
    try:
        srv.script(otherwise=Conn(then=ok("must not be reached")))
        gw = start_gateway(gateway, pki, tmp_path, srv, client)
        assert_error(call(gw), 502, "upstream.tls", route="raw.echo")
        assert srv.requests == []
        assert srv.connections, "the gateway never tried the upstream"
    finally:
        assert not srv.stop()


# ---- the request the gateway writes ----------------------------------------------------------

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@BOTH
def test_the_request_as_written(gw, upstream):
    upstream.script(Conn(then=ok("seen")))
    msg = "Nguyễn Văn An — hồ sơ số 0001"
    r = call(gw, msg, headers={"X-Request-Id": "e2e-raw-0001", "traceparent": TRACEPARENT,
                               "X-City-Only": "not for the upstream"})
    assert answer_of(r) == "seen"
    [req] = upstream.requests
    assert (req["method"], req["target"], req["version"]) == ("POST", UP_PATH, "HTTP/1.1")
    assert req.header("Host") == f"127.0.0.1:{upstream.port}"
    assert json.loads(req["body"]) == {"msg": msg}
    assert req.header("Content-Length") == str(len(req["body"]))
    assert req.header("Content-Type").startswith("application/json")
    assert req.header("Accept") == "application/json"
    assert req.header_values("Transfer-Encoding") == []
    assert req.header_values("Expect") == []
    assert req.header("X-Request-Id") == "e2e-raw-0001"
    assert req.header("traceparent") == TRACEPARENT
    for name, value in UP_HEADERS.items():
        assert req.header(name) == value
    assert req.header_values("X-City-Only") == [], "a caller's header was passed upstream"
    assert "close" not in [v.lower() for v in req.header_values("Connection")]
    head_bytes = req["raw"].split(b"\r\n\r\n", 1)[0]
    assert b"\n" not in head_bytes.replace(b"\r\n", b""), "a bare LF in the request head"


def test_a_large_body_is_sent_without_expect(gateway, pki, tmp_path, upstream, client):
    """1.5 MiB: past the size where libcurl would ask for 100-continue, which legacy upstreams
    never send; the body goes at once with one Content-Length."""
    upstream.script(Conn(then=ok("big")))
    gw = start_gateway(gateway, pki, tmp_path, upstream, client, max_body="2MiB")
    msg = "a" * (1536 * 1024)
    assert answer_of(call(gw, msg, timeout=60)) == "big"
    [req] = upstream.requests
    assert req.header_values("Expect") == []
    assert req.header_values("Transfer-Encoding") == []
    assert req.header("Content-Length") == str(len(req["body"]))
    assert json.loads(req["body"]) == {"msg": msg}


def test_a_query_route_posts_its_document(gw, upstream):
    """No route sends a GET upstream: a GET whose query string is the document (`in: query`)
    is POSTed, with that document as a JSON body."""
    upstream.script(Conn(then=ok("from query")))
    r = gw.request("GET", QUERY_ROUTE + "?msg=Ha%20Noi")
    assert answer_of(r) == "from query"
    [req] = upstream.requests
    assert (req["method"], req["target"]) == ("POST", UP_PATH)
    assert json.loads(req["body"]) == {"msg": "Ha Noi"}
    assert req.header("Content-Length") == str(len(req["body"]))
    assert req.header_values("Transfer-Encoding") == []

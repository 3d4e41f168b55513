"""HTTP/1.1 as the city's clients speak it to the gateway (gateway/h1server.c), over raw TLS sockets
so that every byte is the test's: chunked bodies, Expect: 100-continue, pipelining, HTTP/1.0, the
requests the server refuses itself (always SPEC's JSON envelope with X-Request-Id, then a close),
the header and body timeouts, and a client that leaves while its call is running."""

import json
import socket
import time

from harness import SYNC, city_dossier, dossier_code, sanitizer_report
from ops import WAIT


class Raw:
    """One TLS connection to the public listener, read answer by answer (nothing is lost between
    two pipelined answers, which http.client's buffered reader would)."""

    def __init__(self, gw, timeout=15):
        sock = socket.create_connection(("127.0.0.1", gw.port), timeout=timeout)
        self.tls = gw.pki.client_context("city").wrap_socket(sock, server_hostname="127.0.0.1")
        self.buf = b""

    def send(self, data):
        self.tls.sendall(data)

    def _more(self):
        chunk = self.tls.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def answer(self):
        """(status, {lower-case name: value}, body) of the next answer."""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._more()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed(self):
        """True when the gateway closed the connection (nothing more to read)."""
        try:
            return self.tls.recv(1) == b""
        except (ConnectionResetError, OSError):
            return True

    def close(self):
        self.tls.close()


def post_head(path, length=None, extra=""):
    head = f"POST {path} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    return (head + extra + "\r\n").encode()


def dossier_body(n):
    return json.dumps(city_dossier(dossier_code(n)), ensure_ascii=False).encode()


def assert_json_error(answer, status, code, request_id=None):
    got, headers, body = answer
    assert got == status, f"expected {status}, got {got}: {body[:300]!r}"
    assert headers.get("content-type", "").startswith("application/json"), headers
    err = json.loads(body)["error"]
    assert err["code"] == code, err
    assert headers.get("x-request-id") and err["request_id"] == headers["x-request-id"], (headers, err)
    if request_id is not None:
        assert err["request_id"] == request_id
    assert headers.get("connection", "").lower() == "close", headers
    return err


def test_chunked_request_body(gw, sandbox):
    body = dossier_body(1)
    chunks = b"".join(b"%x;note=1\r\n%s\r\n" % (len(body[i:i + 100]), body[i:i + 100])
                      for i in range(0, len(body), 100))
    c = Raw(gw)
    try:
        c.send(post_head(SYNC, extra="Transfer-Encoding: chunked\r\n") + chunks + b"0\r\nX-Trailer: t\r\n\r\n")
        status, headers, answer = c.answer()
    finally:
        c.close()
    assert status == 200, answer
    assert json.loads(answer)["accepted"] is True
    assert [x["json"]["data"][0]["MaHoSo"] for x in sandbox.calls("DongBoHoSoMC")] == [dossier_code(1)]


def test_expect_100_continue(gw, sandbox):
    body = dossier_body(2)
    c = Raw(gw)
    try:
        c.send(post_head(SYNC, len(body), "Expect: 100-continue\r\n"))
        status, _, _ = c.answer()
        assert status == 100, "the gateway did not ask for the body"
        c.send(body)
        status, _, answer = c.answer()
    finally:
        c.close()
    assert status == 200, answer
    # A body too large for the route is refused before the client sends it.
    c = Raw(gw)
    try:
        c.send(post_head(SYNC, 10 * 1024 * 1024, "Expect: 100-continue\r\nX-Request-Id: e2e-100-big\r\n"))
        assert_json_error(c.answer(), 413, "request.too_large", "e2e-100-big")
    finally:
        c.close()


def test_pipelined_requests_answered_in_order(gw, sandbox):
    c = Raw(gw)
    try:
        data = b"".join(post_head(SYNC, len(dossier_body(n)), f"X-Request-Id: e2e-pipe-{n}\r\n") + dossier_body(n)
                        for n in (1, 2, 3))
        c.send(data)        # all three in one write: the gateway holds two while it answers the first
        answers = [c.answer() for _ in range(3)]
        # The connection is still good for a fourth.
        c.send(post_head(SYNC, len(dossier_body(4)), "X-Request-Id: e2e-pipe-4\r\n") + dossier_body(4))
        answers.append(c.answer())
    finally:
        c.close()
    assert [a[0] for a in answers] == [200] * 4, [a[2][:200] for a in answers]
    assert [a[1]["x-request-id"] for a in answers] == [f"e2e-pipe-{n}" for n in (1, 2, 3, 4)]
    got = [x["json"]["data"][0]["MaHoSo"] for x in sandbox.calls("DongBoHoSoMC")]
    assert got == [dossier_code(n) for n in (1, 2, 3, 4)]


def refused(gw, data):
    c = Raw(gw)
    try:
        try:
            c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = c.answer()
        assert c.closed(), "the connection stayed open after a refused request"
        return answer
    finally:
        c.close()


def test_requests_the_server_refuses_get_json_errors(gw, sandbox):
    rid = "X-Request-Id: e2e-refused\r\n"
    # Both framings: a proxy in front may have read it the other way (request smuggling).
    assert_json_error(refused(gw, post_head(SYNC, 5, rid + "Transfer-Encoding: chunked\r\n") + b"0\r\n\r\n"),
                      400, "request.malformed", "e2e-refused")
    assert_json_error(refused(gw, post_head(SYNC, None, rid + "Transfer-Encoding: gzip\r\n")), 501,
                      "request.transfer_encoding", "e2e-refused")
    assert_json_error(refused(gw, post_head(SYNC, None, rid + "Content-Length: 1\r\nContent-Length: 2\r\n")),
                      400, "request.malformed", "e2e-refused")
    # A bad request line: nothing of the head is trusted, a new request id is made.
    err = assert_json_error(refused(gw, b"POST /v1 dvcqg HTTP/1.1\r\nHost: gw\r\n\r\n"), 400, "request.malformed")
    assert err["request_id"] != "e2e-refused"
    assert_json_error(refused(gw, b"GET http://elsewhere/ HTTP/1.1\r\n\r\n"), 400, "request.malformed")
    assert_json_error(refused(gw, b"POST / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n"), 400, "request.malformed")
    # Headers over limits.max_headers (16 KiB in the test config).
    big = post_head(SYNC, 2, "X-Filler: " + "a" * 20000 + "\r\n") + b"{}"
    assert_json_error(refused(gw, big), 431, "request.headers_too_large")
    # A chunked body over limits.max_body (64 KiB) is refused as soon as it passes it, with the route.
    chunk = b"8000\r\n" + b"x" * 0x8000 + b"\r\n"
    err = assert_json_error(refused(gw, post_head(SYNC, None, rid + "Transfer-Encoding: chunked\r\n") + chunk * 3),
                            413, "request.too_large", "e2e-refused")
    assert err.get("route") == "dvcqg.dossier.sync"
    assert sandbox.calls() == []
    # The gateway is still there for a well-formed request.
    c = Raw(gw)
    try:
        c.send(post_head(SYNC, len(dossier_body(5))) + dossier_body(5))
        assert c.answer()[0] == 200
    finally:
        c.close()


def test_admin_listener_refuses_with_json_too(gw):
    sock = socket.create_connection(("127.0.0.1", gw.admin_port), timeout=10)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nBad Field: x\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
    finally:
        sock.close()
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 400 "), head
    assert b"request.malformed" in body or b"\r\ncontent-length" in head.lower()


def test_slow_body_times_out_with_408(gateway, sandbox):
    gw = gateway(sandbox, body_timeout="1s")
    body = dossier_body(6)
    c = Raw(gw, timeout=30)
    try:
        c.send(post_head(SYNC, len(body), "X-Request-Id: e2e-slow-body\r\n") + body[:100])
        started = time.monotonic()
        answer = c.answer()
        waited = time.monotonic() - started
    finally:
        c.close()
    assert_json_error(answer, 408, "request.timeout", "e2e-slow-body")
    assert 0.8 <= waited < 20, f"answered after {waited:.1f}s, body_timeout is 1s"
    assert sandbox.calls() == []


def test_idle_keep_alive_connection_is_closed_after_header_timeout(gateway, sandbox):
    gw = gateway(sandbox, header_timeout="1s")
    c = Raw(gw, timeout=30)
    try:
        body = dossier_body(7)
        c.send(post_head(SYNC, len(body)) + body)
        assert c.answer()[0] == 200
        started = time.monotonic()
        assert c.closed()
        waited = time.monotonic() - started
    finally:
        c.close()
    assert 0.8 <= waited < 20, f"closed after {waited:.1f}s, header_timeout is 1s"


def test_http_1_0_closes_unless_kept_alive(gw, sandbox):
    body = dossier_body(8)
    c = Raw(gw)
    try:
        c.send(b"POST " + SYNC.encode() + b" HTTP/1.0\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body) + body)
        status, headers, _ = c.answer()
        assert status == 200
        assert headers.get("connection", "").lower() == "close"
        assert c.closed()
    finally:
        c.close()
    c = Raw(gw)
    try:
        for n in (9, 10):
            body = dossier_body(n)
            c.send(b"POST " + SYNC.encode() + b" HTTP/1.0\r\nConnection: keep-alive\r\n"
                   b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            status, headers, _ = c.answer()
            assert status == 200
            assert headers.get("connection", "").lower() == "keep-alive"
    finally:
        c.close()


def test_client_leaving_mid_call_lets_the_call_finish(gw, sandbox):
    sandbox.control(delay_ms=1500)
    body = dossier_body(11)
    c = Raw(gw)
    c.send(post_head(SYNC, len(body), "X-Request-Id: e2e-gone\r\n") + body)
    deadline = time.monotonic() + WAIT
    while not sandbox.calls("DongBoHoSoMC") and time.monotonic() < deadline:
        time.sleep(0.05)
    c.close()               # while the portal is still answering
    # The call runs to completion: its access line is written, with the portal's status.
    lines = gw.wait_access(["e2e-gone"], timeout=WAIT)
    assert lines and lines[0]["status"] == 200 and lines[0]["upstream_status"] == 200, lines
    sandbox.control(delay_ms=0)
    c = Raw(gw)
    try:
        body = dossier_body(12)
        c.send(post_head(SYNC, len(body)) + body)
        assert c.answer()[0] == 200
    finally:
        c.close()
    assert not sanitizer_report(gw.stderr())


def test_heads_around_the_read_buffer_size(gw, sandbox):
    """A connection's buffer starts at 8 KiB and grows while a request is read: heads that end just
    before, at and after that size, their bodies in the same write or after a pause, all go."""
    c = Raw(gw)
    try:
        for n, size in enumerate((8190, 8192, 8193, 16384), start=20):
            body = dossier_body(n)
            base = post_head(SYNC, len(body), "X-Pad: \r\n")
            head = post_head(SYNC, len(body), "X-Pad: " + "p" * (size - len(base)) + "\r\n")
            assert len(head) == size
            if n % 2:
                c.send(head)
                time.sleep(0.2)
                c.send(body)
            else:
                c.send(head + body)
            status, _, answer = c.answer()
            assert status == 200, (size, answer[:200])
    finally:
        c.close()
    assert len(sandbox.calls("DongBoHoSoMC")) == 4

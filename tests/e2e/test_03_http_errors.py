"""What the city is told when its request is wrong: the status, the JSON error envelope, and
that nothing half-checked reaches the portal."""

import json
import re
import socket
import ssl
import time

from harness import (LOOKUP, SYNC, assert_error, city_dossier, city_lookup, dossier_code)


def test_unknown_path(gw, sandbox):
    r = gw.post("/v1/dvcqg/nowhere", city_lookup(dossier_code(1)))
    assert_error(r, 404, "route.not_found")
    assert sandbox.calls() == []


def test_wrong_method(gw, sandbox):
    r = gw.request("GET", SYNC)
    err = assert_error(r, 405, "route.method_not_allowed")
    allow = [m.strip() for m in (r.header("Allow") or "").split(",")]
    assert "POST" in allow, f"Allow: {r.header('Allow')!r}"
    assert "GET" not in allow
    assert err.get("route") in (None, "dvcqg.dossier.sync")
    assert sandbox.calls() == []


def test_malformed_json(gw, sandbox):
    r = gw.post(SYNC, b'{"is_update": false, "dossiers": [', headers={"Content-Type": "application/json"})
    assert_error(r, 400, "json.invalid")
    assert sandbox.calls() == []


def test_body_too_large(gw, sandbox):
    """max_body is 64KiB in the test config; a valid JSON body of 70 000 bytes is refused."""
    filler = "x" * 70000
    body = json.dumps({"is_update": False, "note": filler, "dossiers": []}).encode()
    head = (f"POST {SYNC} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nX-Request-Id: e2e-big-1\r\n\r\n").encode()
    r = gw.raw(head + body)
    err = assert_error(r, 413, "request.too_large")
    assert err["request_id"] == "e2e-big-1"
    assert sandbox.calls() == []


def test_wrong_content_type(gw, sandbox):
    body = json.dumps(city_dossier()).encode()
    r = gw.post(SYNC, body, headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "request.content_type")
    assert sandbox.calls() == []


def test_missing_required_field(gw, sandbox):
    doc = city_dossier()
    del doc["dossiers"][0]["code"]
    r = gw.post(SYNC, doc)
    err = assert_error(r, 422, "mapping.required", field="data[0].MaHoSo", route="dvcqg.dossier.sync")
    # The message may name the city's field or the portal's; it must name one of them.
    assert re.search(r"\bcode\b|MaHoSo", err["message"]), err["message"]
    assert sandbox.calls() == [], "a half-mapped dossier reached the portal"


def test_error_envelope_shape(gw, sandbox):
    """Every error the gateway makes is the same envelope, its request_id is the X-Request-Id
    of the answer, and a request id the caller sent is kept."""
    no_code = city_dossier()
    del no_code["dossiers"][0]["code"]
    cases = [
        ("404", lambda h: gw.post("/nope", {}, headers=h), 404, "route.not_found"),
        ("405", lambda h: gw.request("PUT", LOOKUP, b"{}", headers=h), 405, "route.method_not_allowed"),
        ("400", lambda h: gw.post(LOOKUP, b"[1,", headers={"Content-Type": "application/json", **h}),
         400, "json.invalid"),
        ("415", lambda h: gw.post(LOOKUP, b"dossier_code=1",
                                  headers={"Content-Type": "application/x-www-form-urlencoded", **h}),
         415, "request.content_type"),
        ("403", lambda h: gw.post(LOOKUP, city_lookup(dossier_code(1)), headers=h, cert="other-client"),
         403, "auth.forbidden"),
        ("422", lambda h: gw.post(SYNC, no_code, headers=h), 422, "mapping.required"),
    ]
    seen = set()
    for name, do, status, code in cases:
        err = assert_error(do({}), status, code)
        assert err["request_id"] not in seen, f"{name}: request id {err['request_id']} used twice"
        seen.add(err["request_id"])
        err = assert_error(do({"X-Request-Id": f"e2e-env-{name}"}), status, code)
        assert err["request_id"] == f"e2e-env-{name}"
    assert sandbox.calls() == []


def test_slow_header_times_out(gateway, sandbox):
    """A client that starts a request and never finishes its header is cut off after
    gateway.limits.header_timeout (slowloris), and nothing reaches the portal."""
    gw = gateway(sandbox, header_timeout="1s")
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=30)
    tls = gw.pki.client_context("city").wrap_socket(sock, server_hostname="127.0.0.1")
    try:
        tls.sendall(b"POST /v1/dvcqg/dossiers HTTP/1.1\r\nHost: localhost\r\nContent-Type: appl")
        started = time.monotonic()
        try:
            data = tls.recv(4096)
        except (ConnectionResetError, ssl.SSLError):
            data = b""
        waited = time.monotonic() - started
    finally:
        tls.close()
    assert data == b"", f"expected the connection closed, got {data[:200]!r}"
    # Closed by the timeout, not by anything else: not at once, and well before the socket's 30 s.
    assert 0.8 <= waited < 20, f"connection closed after {waited:.1f}s, header_timeout is 1s"
    assert sandbox.received == []

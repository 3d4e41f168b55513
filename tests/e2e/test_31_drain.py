"""SIGTERM while 50 slow requests are in flight: every one gets its answer, then exit 0."""

import signal

import pytest
import socket
import threading
import time

from harness import SYNC, city_dossier, sanitizer_report, send
from ops import WAIT, admin


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_answers_every_request_in_flight(gateway, sandbox, workers):
    # Slow, not failing: the drain is under test. With 2 workers, both loops drain.
    # The sandbox makes its TLS handshakes one at a time: with 50 at once on a loaded machine,
    # connecting to it (and 50 handshakes with the gateway) may take longer than the test
    # config's 2 s timeouts. That is not what is tested here.
    gw = gateway(sandbox, total_timeout="60s", connect_timeout="30s", header_timeout="10s", workers=workers)
    sandbox.control(delay_ms=1500)
    results = [None] * 50

    def one(i):
        conn = gw.connect(timeout=WAIT * 2)
        try:
            results[i] = send(conn, "POST", SYNC, city_dossier(), {"X-Request-Id": f"e2e-drain-{i}"})
        except Exception as exc:  # noqa: BLE001 (any failure is the finding)
            results[i] = exc
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    # Wait until the gateway has read all 50 (they wait on the sandbox's delay).
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        status, _, body = admin(gw, "GET", "/status")
        if b"50 requests in flight" in body:
            break
        time.sleep(0.05)
    assert b"50 requests in flight" in body, "the 50 requests never were in flight together"
    gw.proc.send_signal(signal.SIGTERM)

    # Draining: not ready, and no new connection is accepted on the public listener.
    deadline = time.monotonic() + WAIT
    while admin(gw, "GET", "/readyz")[0] != 503 and time.monotonic() < deadline:
        time.sleep(0.02)
    status, _, body = admin(gw, "GET", "/readyz")
    assert status == 503 and b"draining" in body
    # Every loop stops accepting (workers get the stop from the main loop, a moment later).
    refused, deadline = False, time.monotonic() + WAIT
    while not refused and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", gw.port), timeout=2).close()
            time.sleep(0.05)
        except OSError:
            refused = True
    assert refused, "the public listener still accepts connections while draining"

    for t in threads:
        t.join(WAIT * 2)
    bad = [(i, r) for i, r in enumerate(results) if isinstance(r, Exception) or r is None or r.status != 200]
    assert not bad, f"{len(bad)} of 50 requests were not answered 200: {bad[:3]}"
    assert all(r.json()["accepted"] is True for r in results)

    assert gw.proc.wait(WAIT) == 0
    assert not sanitizer_report(gw.stderr())
    gw.proc = None          # stopped here, on purpose: the fixture has nothing left to stop

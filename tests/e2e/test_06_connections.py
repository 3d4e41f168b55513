"""Connections: keep-alive on the city's side, and many callers at once."""

import time
from concurrent.futures import ThreadPoolExecutor

from harness import (SYNC, city_dossier, dossier_code, send)

PARALLEL = 100


def test_keep_alive(gw, sandbox):
    conn = gw.connect()
    try:
        ports = []
        for n in (1, 2, 3):
            r = send(conn, "POST", SYNC, city_dossier(dossier_code(n)))
            assert r.status == 200, r.text()
            assert r.json()["accepted"] is True
            assert (r.header("Connection") or "").lower() != "close"
            assert conn.sock is not None, f"the gateway closed the connection after request {n}"
            ports.append(conn.sock.getsockname()[1])
        assert ports[0] == ports[1] == ports[2], f"reconnected: local ports {ports}"
    finally:
        conn.close()
    assert [c["json"]["data"][0]["MaHoSo"] for c in sandbox.calls()] == [dossier_code(n) for n in (1, 2, 3)]


def test_upstream_closes_pooled_connections(gw, sandbox):
    """The portal closes each connection 0.1 s after answering, while the gateway keeps it in its
    pool (and its socket registered with the event loop): every request still succeeds on a new
    connection, whose socket often reuses the closed one's number. A stale registration would
    make a request hang or answer with another request's data. Requests sent at once reuse the
    connection before the close."""
    sandbox.control(close_after_answer=True)
    for n in range(1, 13):
        r = gw.post(SYNC, city_dossier(dossier_code(n)))
        assert r.status == 200, f"request {n}: {r.status} {r.text()[:300]}"
        assert r.json()["accepted"] is True
        if n % 2 == 0:
            time.sleep(0.3)     # let the loop see the close while the connection is idle
    got = [c["json"]["data"][0]["MaHoSo"] for c in sandbox.calls("DongBoHoSoMC")]
    assert got == [dossier_code(n) for n in range(1, 13)]


def test_parallel_requests(gateway, sandbox):
    gw = gateway(sandbox, workers=2, total_timeout="20s")

    def one(n):
        rid = f"e2e-par-{n:03d}"
        return n, gw.post(SYNC, city_dossier(dossier_code(n)), headers={"X-Request-Id": rid}, timeout=60)

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        results = list(pool.map(one, range(1, PARALLEL + 1)))

    bad = [(n, r.status, r.text()[:200]) for n, r in results
           if r.status != 200 or r.json().get("accepted") is not True]
    assert not bad, f"{len(bad)} of {PARALLEL} failed: {bad[:5]}"
    wrong_id = [(n, r.header("X-Request-Id")) for n, r in results
                if r.header("X-Request-Id") != f"e2e-par-{n:03d}"]
    assert not wrong_id, f"answers with another request's id: {wrong_id[:5]}"

    calls = sandbox.calls("DongBoHoSoMC")
    got = {c["json"]["data"][0]["MaHoSo"] for c in calls}
    assert got == {dossier_code(n) for n in range(1, PARALLEL + 1)}
    assert len(calls) == PARALLEL
    # Each call carried the request id of the dossier it was made for: no cross-talk.
    crossed = [c["json"]["data"][0]["MaHoSo"] for c in calls
               if c["headers"].get("x-request-id") != "e2e-par-" + c["json"]["data"][0]["MaHoSo"][-3:]]
    assert not crossed, f"calls carrying another request's id: {crossed[:5]}"

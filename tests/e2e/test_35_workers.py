"""gateway.workers: several event loops share the public port (SO_REUSEPORT); every loop takes
traffic, each logs in to the portal with its own session, metrics add up across loops, and a
reload and a SIGTERM reach every loop."""

import signal
import threading

from harness import SYNC, city_dossier, sanitizer_report
from ops import WAIT, metrics, metric, reload, set_sync_mapping, sync_mapping_variant


def test_every_worker_serves_and_stays_coherent(gateway, sandbox):
    gw = gateway(sandbox, workers=2, total_timeout="20s")
    results = []

    def burst(n):
        for _ in range(n):
            try:
                results.append(gw.post(SYNC, city_dossier()))   # a new connection each time
            except Exception as exc:  # noqa: BLE001
                results.append(exc)

    threads = [threading.Thread(target=burst, args=(10,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT * 2)
    bad = [r for r in results if isinstance(r, Exception) or r.status != 200]
    assert len(results) == 40 and not bad, bad[:3]

    m = metrics(gw)
    per_loop = {dict(k)["loop"]: v for (name, k), v in m.items() if name == "lienthong_loop_requests_total"}
    assert set(per_loop) == {"0", "1"}, per_loop
    assert sum(per_loop.values()) == 40
    assert all(v > 0 for v in per_loop.values()), f"a loop served nothing: {per_loop}"
    assert metric(m, "lienthong_requests_total", route="dvcqg.dossier.sync", code="200") == 40
    # One session per loop at most: each logs in when it first needs the token.
    assert 1 <= sandbox.logins <= 2

    # A reload reaches every loop: after it, every connection gets the new mapping.
    mapping = gw.workdir / "sync.yaml"
    sync_mapping_variant(mapping, "w2")
    set_sync_mapping(gw, mapping)
    assert reload(gw)["outcome"] == "accepted"
    versions = {gw.post(SYNC, city_dossier()).json().get("version") for _ in range(12)}
    assert versions == {"w2"}, versions

    gw.proc.send_signal(signal.SIGTERM)
    assert gw.proc.wait(WAIT) == 0
    assert not sanitizer_report(gw.stderr())
    gw.proc = None

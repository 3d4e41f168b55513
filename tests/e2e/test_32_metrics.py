"""/metrics in Prometheus text format: parsed, and the counters are the requests just sent;
/readyz; the traceparent started, kept and passed upstream."""

import re
import time

from harness import SYNC, city_dossier
from ops import WAIT, admin, metrics, metric
from queue_setup import city  # noqa: F401 (a fixture)
from queue_setup import CITY, OUTBOUND, queue_extra


def test_metrics_count_what_was_sent(gw, sandbox, pki):
    for _ in range(3):
        assert gw.post(SYNC, city_dossier()).status == 200
    assert gw.post(SYNC, city_dossier(), cert="other-client").status == 403
    assert gw.post("/v1/nowhere", {}).status == 404
    sandbox.control(fail_status=503, fail_times=1)
    assert gw.post(SYNC, city_dossier()).status == 502

    m = metrics(gw)
    route = "dvcqg.dossier.sync"
    assert metric(m, "lienthong_requests_total", route=route, code="200") == 3
    assert metric(m, "lienthong_requests_total", route=route, code="403") == 1
    assert metric(m, "lienthong_requests_total", route=route, code="502") == 1
    assert metric(m, "lienthong_requests_total", route="-", code="404") == 1

    # The histogram: cumulative buckets from 1 ms to 30 s, +Inf = count = requests of the route.
    buckets = sorted((float(dict(k)["le"]), v) for (name, k), v in m.items()
                     if name == "lienthong_request_duration_seconds_bucket" and dict(k)["route"] == route)
    assert buckets[0][0] == 0.001 and buckets[-2][0] == 30 and buckets[-1][0] == float("inf")
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), buckets
    assert buckets[-1][1] == 5
    assert metric(m, "lienthong_request_duration_seconds_count", route=route) == 5
    assert metric(m, "lienthong_request_duration_seconds_sum", route=route) > 0

    # Upstream calls: 4 answered (3 ok, one 503); the 503 is an error of kind "status".
    assert metric(m, "lienthong_upstream_duration_seconds_count", upstream="dvcqg") == 4
    assert metric(m, "lienthong_upstream_errors_total", upstream="dvcqg", kind="status") == 1
    assert metric(m, "lienthong_circuit_open", upstream="dvcqg") == 0
    for state in ("queued", "delivering", "delivered", "dead"):
        assert metric(m, "lienthong_queue_messages", state=state) == 0

    # Every certificate the config names, with its time left (the dev PKI: 90 days).
    for name in ("gateway.crt", "ca.crt", "gw-client.crt"):
        left = metric(m, "lienthong_cert_expiry_seconds", path=pki[name])
        assert left is not None and 80 * 86400 < left <= 90 * 86400, (name, left)


def test_tls_handshake_failures_are_counted(gw):
    try:
        gw.post(SYNC, city_dossier(), cert="rogue-client")
    except Exception:  # noqa: BLE001 (the handshake is expected to fail)
        pass
    m = metrics(gw)
    fails = {dict(k)["reason"]: v for (name, k), v in m.items()
             if name == "lienthong_tls_handshake_failures_total" and dict(k)["listener"] == "public"}
    assert sum(fails.values()) >= 1, fails


def test_readyz_and_admin_methods(gw):
    status, _, body = admin(gw, "GET", "/readyz")
    assert status == 200 and body == b'{"ready":true}'
    assert admin(gw, "POST", "/metrics")[0] == 405
    assert admin(gw, "GET", "/admin/reload")[0] == 405


def test_traceparent_kept_or_started_and_passed_upstream(gw, sandbox):
    given = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert gw.post(SYNC, city_dossier(), headers={"traceparent": given, "X-Request-Id": "e2e-tp-1"}).status == 200
    assert gw.post(SYNC, city_dossier(), headers={"X-Request-Id": "e2e-tp-2"}).status == 200
    calls = sandbox.calls()
    assert calls[0]["headers"]["traceparent"] == given
    started = calls[1]["headers"]["traceparent"]
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-00", started), started
    lines = {d["request_id"]: d for d in gw.wait_access(["e2e-tp-1", "e2e-tp-2"])}
    assert lines["e2e-tp-1"]["traceparent"] == given
    assert lines["e2e-tp-2"]["traceparent"] == started


def test_queue_depth_and_dead_messages_reach_metrics_and_status(gateway, pki, tmp_path, city):
    """The store's counts (refreshed every 5 s by its writer thread) feed
    lienthong_queue_messages{state}: a message that dies shows as dead, on /status too."""
    gw = gateway(upstream_url="https://127.0.0.1:9/adapter",
                 extra=queue_extra(pki, tmp_path, city.url, attempts=1, backoff="100ms", max_backoff="100ms"))
    city.down()
    r = gw.post(OUTBOUND, {"receipt": "R-METRIC-DEAD"}, cert=CITY)
    assert r.status == 202, r.text()
    deadline, dead = time.monotonic() + WAIT, None
    while time.monotonic() < deadline:
        dead = metric(metrics(gw), "lienthong_queue_messages", state="dead")
        if dead == 1:
            break
        time.sleep(0.25)
    assert dead == 1, f"lienthong_queue_messages{{state=\"dead\"}} is {dead}"
    page = admin(gw, "GET", "/status")[2].decode()
    assert re.search(r'<td class="n bad">1</td></tr></table>', page), "the status page shows no dead message"
    status, _, body = admin(gw, "GET", "/readyz")
    assert status == 200, body     # the store answers: ready

"""Queue mode: durable acceptance, acks in the caller's dialect, exactly-once delivery to the
city with stable Idempotency-Key and X-Request-Id, retries with growing gaps, dead messages and
their replay, GET /v1/messages/{id}, and the circuit breaker."""

import threading
import time

import pytest

from harness import assert_error
from queue_setup import city  # noqa: F401 (a fixture)
from queue_setup import (ACK_BAD, ACK_DUP, ACK_ERR, BANK, CALLBACK, CITY, OUTBOUND, SIGNED, SYNC, SYNC_IPN,
                         admin, audit_lines, message, metric, payment, queue_extra, wait_deliveries, wait_state)

UNREACHABLE = "https://127.0.0.1:9/adapter"     # the dvcqg routes are not used here


@pytest.fixture
def qgw(gateway, pki, tmp_path, city):
    """qgw(**queue_extra options) -> a gateway with the city upstream and the queue routes."""
    def start(**kw):
        return gateway(upstream_url=UNREACHABLE, extra=queue_extra(pki, tmp_path, city.url, **kw))
    return start


def test_callback_is_acked_and_delivered_once(qgw, city):
    gw = qgw()
    r = gw.post(CALLBACK, payment("ORD-1"), cert=BANK, headers={"X-Request-Id": "ipn-req-1"})
    assert r.status == 204, r.text()
    assert r.body == b""
    got = wait_deliveries(city, 1)
    assert len(got) == 1
    d = got[0]
    assert d["path"] == "/city/payments"
    assert d["json"] == {"payment_ref": "ORD-1", "amount": 100000, "result": "0",
                         "paid_at": 1700000000000}
    assert d["headers"]["idempotency-key"] == "ORD-1"
    assert d["headers"]["x-request-id"] == "ipn-req-1"
    assert d["headers"]["content-type"] == "application/json"
    assert d["peer_cn"] == "lienthong-gateway"
    assert city.applied == {"ORD-1": d["json"]}
    time.sleep(0.5)
    assert len(city.deliveries) == 1, "delivered more than once"


def test_replayed_five_times_is_delivered_once(qgw, city):
    gw = qgw()
    answers = [gw.post(CALLBACK, payment("ORD-2"), cert=BANK) for _ in range(5)]
    assert answers[0].status == 204
    for r in answers[1:]:
        assert (r.status, r.text()) == (200, ACK_DUP)
    wait_deliveries(city, 1)
    time.sleep(0.5)
    assert len(city.deliveries) == 1
    assert list(city.applied) == ["ORD-2"]


def test_simultaneous_copies_one_wins(qgw, city):
    gw = qgw()
    answers = []
    lock = threading.Lock()

    def one():
        r = gw.post(CALLBACK, payment("ORD-SAME"), cert=BANK)
        with lock:
            answers.append((r.status, r.text()))

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(answers) == sorted([(204, "")] + [(200, ACK_DUP)] * 5), answers
    wait_deliveries(city, 1)
    time.sleep(0.5)
    assert len(city.deliveries) == 1


def test_outbound_work_gets_202_and_message_state(qgw, city):
    gw = qgw()
    r = gw.post(OUTBOUND, {"receipt": "R-1", "total": 50000}, cert=CITY,
                headers={"X-Request-Id": "receipt-req-1"})
    assert r.status == 202, r.text()
    mid = r.json()["message_id"]
    assert len(mid) == 32 and all(c in "0123456789abcdef" for c in mid)
    wait_deliveries(city, 1)
    d = city.deliveries[0]
    assert d["path"] == "/city/receipts"
    assert d["json"] == {"receipt": "R-1", "total": 50000}
    assert d["headers"]["idempotency-key"] == mid       # no key of its own: the message id
    assert d["headers"]["x-request-id"] == "receipt-req-1"
    doc = wait_state(gw, mid, "delivered", cert=CITY)
    assert doc["id"] == mid and doc["route"] == "city.receipts" and doc["attempts"] == 1
    assert doc["last_error"] is None
    assert doc["created_at"].endswith("Z") and doc["delivered_at"].endswith("Z")
    # Another client, not allowed on the route that created it, does not learn it exists.
    assert_error(message(gw, mid, cert=BANK), 404, "message.not_found")
    assert_error(message(gw, "0" * 32, cert=CITY), 404, "message.not_found")
    # The same Idempotency-Key from the city again: the first message, not a second one.
    r1 = gw.post(OUTBOUND, {"receipt": "R-2"}, cert=CITY, headers={"Idempotency-Key": "rcpt-2"})
    r2 = gw.post(OUTBOUND, {"receipt": "R-2"}, cert=CITY, headers={"Idempotency-Key": "rcpt-2"})
    assert r1.status == 202 and r2.status == 200
    assert r2.json() == {"message_id": r1.json()["message_id"], "duplicate": True}


def test_bad_signature_gets_its_ack_is_audited_and_never_delivered(qgw, city):
    gw = qgw()
    body = dict(payment("ORD-BAD"), signature="00" * 32)
    r = gw.post(SIGNED, body, cert=BANK)
    assert (r.status, r.text()) == (200, ACK_BAD)
    time.sleep(0.5)
    assert city.deliveries == []
    lines = audit_lines(gw, "callback.bad_signature")
    assert len(lines) == 1, lines
    a = lines[0]
    assert a["route"] == "test.signed" and a["client"] == "CN=some-other-system" and a["key"] == "ORD-BAD"
    assert a["reason"]
    assert "test-secret" not in gw.stderr()


def test_city_down_is_retried_with_growing_gaps(qgw, city):
    gw = qgw(attempts=6, backoff="300ms", max_backoff="5s")
    city.control(fail_status=503, fail_times=3)
    r = gw.post(CALLBACK, payment("ORD-RETRY"), cert=BANK)
    assert r.status == 204
    got = wait_deliveries(city, 4, timeout=60)
    assert [d["status"] for d in got[:4]] == [503, 503, 503, 200]
    assert {d["headers"]["idempotency-key"] for d in got} == {"ORD-RETRY"}
    assert len({d["headers"]["x-request-id"] for d in got}) == 1
    gaps = [b["time"] - a["time"] for a, b in zip(got, got[1:4])]
    # Equal jitter: the n-th wait lies in [b*2^(n-1)/2, b*2^(n-1)], so the sum of later gaps
    # beats earlier ones however the jitter falls (0.15-0.3 s, 0.3-0.6 s, 0.6-1.2 s).
    assert gaps[0] >= 0.14 and gaps[2] >= 0.59, gaps
    assert gaps[2] > gaps[0], gaps
    assert list(city.applied) == ["ORD-RETRY"]


def test_dead_after_attempts_then_admin_replay_delivers(qgw, city):
    gw = qgw(attempts=2, backoff="100ms", max_backoff="200ms")
    city.down()
    r = gw.post(OUTBOUND, {"receipt": "R-DEAD"}, cert=CITY)
    assert r.status == 202
    mid = r.json()["message_id"]
    doc = wait_state(gw, mid, "dead", cert=CITY)
    assert doc["attempts"] == 2
    assert "connect" in doc["last_error"], doc
    listed = admin(gw, "GET", "/admin/messages?state=dead")
    assert listed.status == 200, listed.text()
    assert [m["id"] for m in listed.json()["messages"]] == [mid]
    assert listed.json()["count"] == 1
    assert metric(gw, 'lienthong_queue_messages{state="dead"}') == 1
    # Not dead: nothing to replay.
    assert_error(admin(gw, "POST", f"/admin/messages/{'f' * 32}/replay"), 404, "message.not_found")
    city.up()
    rep = admin(gw, "POST", f"/admin/messages/{mid}/replay")
    assert rep.status == 200, rep.text()
    assert rep.json()["message"]["state"] == "queued" and rep.json()["message"]["attempts"] == 0
    doc = wait_state(gw, mid, "delivered", cert=CITY)
    assert doc["attempts"] == 1
    assert len(city.applied) == 1
    assert metric(gw, 'lienthong_queue_messages{state="dead"}') == 0
    assert metric(gw, 'lienthong_queue_messages{state="delivered"}') == 1
    assert_error(admin(gw, "POST", f"/admin/messages/{mid}/replay"), 409, "message.not_dead")
    assert audit_lines(gw, "message.replay")[0]["message"] == mid
    assert admin(gw, "GET", "/admin/messages?state=dead").json()["messages"] == []
    assert_error(admin(gw, "GET", "/admin/messages?state=lost"), 400, "request.query")


def test_store_survives_restart(qgw, city, tmp_path):
    gw = qgw()
    city.down()
    r = gw.post(OUTBOUND, {"receipt": "R-RESTART"}, cert=CITY)
    mid = r.json()["message_id"]
    gw.proc.kill()
    gw.proc.wait()
    city.up()
    gw.start()
    doc = wait_state(gw, mid, "delivered", cert=CITY)
    assert doc["id"] == mid
    assert city.deliveries[-1]["headers"]["idempotency-key"] == mid


def test_circuit_opens_fails_fast_and_closes(qgw, city):
    gw = qgw(attempts=1, circuit={"failures": 2, "cooldown": "1s"})
    city.down()
    for _ in range(2):
        assert_error(gw.post(SYNC, {"x": 1}, cert=CITY), 502, "upstream.connect")
    t0 = time.monotonic()
    err = assert_error(gw.post(SYNC, {"x": 1}, cert=CITY), 503, "upstream.circuit_open")
    assert "city" in err["message"]
    assert metric(gw, 'lienthong_circuit_open{upstream="city"}') == 1
    city.up()
    assert_error(gw.post(SYNC, {"x": 1}, cert=CITY), 503, "upstream.circuit_open")
    # Queued work waits while the breaker is open, and goes once it closes.
    q = gw.post(OUTBOUND, {"receipt": "R-CIRCUIT"}, cert=CITY)
    assert q.status == 202
    while time.monotonic() - t0 < 1.2:
        time.sleep(0.1)
    deadline = time.monotonic() + 10
    while True:
        r = gw.post(SYNC, {"x": 2}, cert=CITY)
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status == 200, r.text()
    assert r.json() == {"status": "ok"}
    assert metric(gw, 'lienthong_circuit_open{upstream="city"}') == 0
    wait_state(gw, q.json()["message_id"], "delivered", cert=CITY)



def test_sync_callback_answers_the_city_verdict_or_its_error_ack(qgw, city):
    gw = qgw()
    r = gw.post(SYNC_IPN, {"x": 1}, cert=BANK)
    assert (r.status, r.json()) == (200, {"status": "ok"})
    city.down()
    r = gw.post(SYNC_IPN, {"x": 1}, cert=BANK)
    assert (r.status, r.text()) == (200, ACK_ERR)
    assert r.header("Content-Type") == "application/json"
    line = [a for a in gw.access_lines() if a.get("route") == "test.sync_ipn"][-1]
    assert line["error"] == "upstream.connect"


def test_bodies_big_and_small_go_without_expect_100_continue(gateway, pki, tmp_path, city):
    """libcurl asks for "100-continue" before a body over 1 MiB and waits for it (legacy partners
    never answer it); the gateway turns that off, and sends the header that does so only when
    curl would ask. Neither body may reach the city with an Expect header."""
    gw = gateway(upstream_url=UNREACHABLE, max_body="2MiB", extra=queue_extra(pki, tmp_path, city.url))
    small = {"receipt": "R-small", "total": 1}
    big = {"receipt": "R-big", "note": "Hà Nội " * 180000}     # ~1.6 MB of JSON
    for doc in (small, big):
        r = gw.post(OUTBOUND, doc, cert=CITY)
        assert r.status == 202, r.text()[:300]
    got = wait_deliveries(city, 2)
    assert sorted(d["json"]["receipt"] for d in got) == ["R-big", "R-small"]
    for d in got:
        assert "expect" not in d["headers"], d["headers"].get("expect")
    assert [d for d in got if d["json"]["receipt"] == "R-big"][0]["json"] == big

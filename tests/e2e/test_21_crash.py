"""The crash test of queue mode: 500 distinct payment callbacks from several concurrent senders,
each retried by its sender until it gets the `ok` or `duplicate` ack, while the gateway is killed
with SIGKILL twice at random moments and restarted. Afterwards every callback was acked, none is
missing at the city, the city applied each exactly once (its Idempotency-Key is stable across
the crash), and raw redeliveries number at most the messages that were in flight at the kills
(read from the store the killed gateway left behind)."""

import http.client
import queue
import random
import sqlite3
import ssl
import threading
import time

from harness import KeepAliveClient
from queue_setup import ACK_DUP, BANK, CALLBACK, new_city, payment, queue_extra

TOTAL = 500
SENDERS = 6
DEADLINE = 100.0          # seconds for the whole exchange; the test fails, never hangs
UNREACHABLE = "https://127.0.0.1:9/adapter"


def in_flight(db_path):
    """Messages the killed gateway had claimed and not finished (state delivering)."""
    con = sqlite3.connect(str(db_path), timeout=10)
    try:
        return con.execute("SELECT COUNT(*) FROM messages WHERE state = 'delivering'").fetchone()[0]
    finally:
        con.close()


def test_500_callbacks_survive_two_sigkills(gateway, pki, tmp_path):
    city = new_city(pki)
    try:
        _run(gateway, pki, tmp_path, city)
    finally:
        city.stop()


def _run(gateway, pki, tmp_path, city):
    gw = gateway(upstream_url=UNREACHABLE,
                 extra=queue_extra(pki, tmp_path, city.url, attempts=10, backoff="100ms", max_backoff="1s"))
    db_path = gw.config["gateway"]["store"]
    orders = [f"ORD-{n:04d}" for n in range(TOTAL)]
    todo = queue.Queue()
    for o in orders:
        todo.put(o)
    acked = {}
    lock = threading.Lock()
    deadline = time.monotonic() + DEADLINE
    sends = [0]

    def sender():
        client = None
        while time.monotonic() < deadline:
            try:
                order = todo.get_nowait()
            except queue.Empty:
                break
            while time.monotonic() < deadline:
                with lock:
                    sends[0] += 1
                try:
                    if client is None:
                        client = KeepAliveClient(gw, cert=BANK, timeout=20)
                    r = client.send("POST", CALLBACK, payment(order))
                except (OSError, http.client.HTTPException, ssl.SSLError):
                    if client is not None:
                        client.close()
                    client = None
                    time.sleep(0.05)        # the gateway is down or restarting: as a bank, retry
                    continue
                if r.status == 204 or (r.status == 200 and r.text() == ACK_DUP):
                    with lock:
                        acked[order] = r.status
                    break
                time.sleep(0.05)            # an error ack: the bank retries
        if client is not None:
            client.close()

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    for t in threads:
        t.start()
    rnd = random.Random()
    kills = sorted(rnd.sample(range(60, TOTAL - 60), 2))
    flight = []
    for at in kills:
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= at:
                    break
            time.sleep(0.005)
        gw.proc.kill()
        gw.proc.wait()
        flight.append(in_flight(db_path))
        gw.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    applied = city.wait_applied(TOTAL, timeout=max(5.0, deadline - time.monotonic()))
    raw, n_applied = city.counts()
    per_key = {}
    for d in city.deliveries:
        k = d["headers"].get("idempotency-key")
        per_key[k] = per_key.get(k, 0) + 1
    print(f"\ncrash test: {TOTAL} callbacks, {sends[0]} sends, {len(acked)} acked "
          f"({sum(1 for s in acked.values() if s == 200)} of them as duplicates), kills after "
          f"{kills[0]} and {kills[1]} acks with {flight} messages in flight, {raw} raw deliveries, "
          f"{n_applied} applied, {raw - n_applied} redeliveries")
    assert len(acked) == TOTAL, f"{TOTAL - len(acked)} callbacks never acked"
    missing = sorted(set(orders) - set(applied))
    assert not missing, f"{len(missing)} never reached the city: {missing[:10]}"
    assert set(applied) == set(orders)
    assert set(per_key) == set(orders), "a delivery carried an unexpected Idempotency-Key"
    assert raw - n_applied <= sum(flight), (raw, n_applied, flight)

"""The crash test of queue mode: 500 distinct signed VNPAY payment callbacks from several concurrent senders,
each retried by its sender until it gets the `ok` or `duplicate` ack, while the gateway is killed
with SIGKILL twice at random moments and restarted. Afterwards every callback was acked, none is
missing at the city, the city applied each exactly once (its Idempotency-Key is stable across
the crash), and raw redeliveries number at most the messages that were in flight at the kills
(read from the store the killed gateway left behind)."""

import queue
import random
import sqlite3
import threading
import time

from bank import Vnpay
from queue_setup import VNPAY_SECRET, bank_for, new_city, queue_extra

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

    # Each sender is a bank that resends a callback until it reads its ok or duplicate ack
    # (tests/sandbox/bank.py), every attempt on a new connection, as VNPAY does.
    bank = bank_for(gw, "bank", attempts=400, first_gap=0.05, max_gap=0.25)
    vnpay = Vnpay(VNPAY_SECRET)

    def sender():
        while time.monotonic() < deadline:
            try:
                order = todo.get_nowait()
            except queue.Empty:
                break
            res = bank.send(vnpay, vnpay.ipn(order, 120000), "/callbacks/vnpay/ipn")
            with lock:
                sends[0] += len(res.attempts)
                if res.acked:
                    acked[order] = res.acked

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
    bank.stop()
    applied = city.wait_applied(TOTAL, timeout=max(5.0, deadline - time.monotonic()))
    raw, n_applied = city.counts()
    per_key = {}
    for d in city.deliveries:
        k = d["headers"].get("idempotency-key")
        per_key[k] = per_key.get(k, 0) + 1
    print(f"\ncrash test: {TOTAL} callbacks, {sends[0]} sends, {len(acked)} acked "
          f"({sum(1 for s in acked.values() if s == 'duplicate')} of them as duplicates), kills after "
          f"{kills[0]} and {kills[1]} acks with {flight} messages in flight, {raw} raw deliveries, "
          f"{n_applied} applied, {raw - n_applied} redeliveries")
    assert len(acked) == TOTAL, f"{TOTAL - len(acked)} callbacks never acked"
    missing = sorted(set(orders) - set(applied))
    assert not missing, f"{len(missing)} never reached the city: {missing[:10]}"
    assert set(applied) == set(orders)
    assert set(per_key) == set(orders), "a delivery carried an unexpected Idempotency-Key"
    assert raw - n_applied <= sum(flight), (raw, n_applied, flight)

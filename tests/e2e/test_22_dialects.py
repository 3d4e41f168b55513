"""The three payment dialects end to end through queue mode with the shipped mappings, called back
by the bank sandbox (tests/sandbox/bank.py) with each platform's own certificate: VNPAY (GET query,
HMAC-SHA512 sorted-query), MoMo (JSON, HMAC-SHA256 pairs, 204) and KeyPay (JSON, HMAC-SHA256
join). For each: a valid callback gets the ok ack and reaches the city once in the city's one
payment shape; the same callback five times is delivered once; a bad signature gets its ack, an
audit line and nothing delivered; with the city down it is still acked, retried, and delivered
when the city comes back."""

import json
import time

import pytest

from bank import Keypay, Momo, Vnpay
from queue_setup import city  # noqa: F401 (a fixture)
from queue_setup import (KEYPAY_ACKS, KEYPAY_KEY2, MOMO_ACKS, VNPAY_ACKS, MOMO_ACCESS, MOMO_SECRET, VNPAY_SECRET, audit_lines, bank_for,
                         queue_extra, wait_deliveries)

UNREACHABLE = "https://127.0.0.1:9/adapter"
ORDER_INFO = "Le phi ho so 000.00.01.H26-250115-0001"


def vnpay(key=VNPAY_SECRET):
    d = Vnpay(key)
    return d, lambda ref: d.ipn(ref, 120000, order_info="Thanh toan le phi ho so 000.00.01.H26-250115-0001")


def momo(key=MOMO_SECRET):
    d = Momo(key, MOMO_ACCESS)
    return d, lambda ref: d.ipn(ref, 120000, order_info=ORDER_INFO)


def keypay(key=KEYPAY_KEY2):
    d = Keypay(key)
    return d, lambda ref: d.confirm(ref, 120000, description="Nộp lệ phí hồ sơ 000.30.21.H26-250115-0001")


# name -> (route, path, certificate, dialect maker, what the city receives without order_ref)
DIALECTS = {
    "vnpay": ("vnpay.ipn", "/callbacks/vnpay/ipn", "bank", vnpay,
              {"provider": "vnpay", "dossier_code": "000.00.01.H26-250115-0001", "amount": 120000,
               "paid": True, "provider_txn": "14226112", "bank_code": "NCB",
               "paid_at": "2025-01-15T10:30:12+07:00", "raw_code": "00"}),
    "momo": ("momo.ipn", "/callbacks/momo/ipn", "momo", momo,
             {"provider": "momo", "dossier_code": "000.00.01.H26-250115-0001", "amount": 120000,
              "paid": True, "provider_txn": "4088878653", "pay_type": "qr",
              "paid_at": "2025-01-15T10:30:12.345+07:00", "raw_code": "0"}),
    "keypay": ("keypay.confirm", "/callbacks/keypay/confirm", "keypay", keypay,
               {"provider": "keypay", "dossier_code": "000.30.21.H26-250115-0001", "amount": 120000,
                "paid": True, "provider_txn": "KP250115000001", "raw_code": "0"}),
}
# What the bank reads in a duplicate ack: VNPAY says 02; MoMo and KeyPay hear their success again.
DUPLICATE = {"vnpay": "duplicate", "momo": "ok", "keypay": "ok"}
ACKS = {"vnpay": VNPAY_ACKS, "momo": MOMO_ACKS, "keypay": KEYPAY_ACKS}


@pytest.fixture
def dgw(gateway, pki, tmp_path, city):  # noqa: F811 (the fixture)
    return gateway(upstream_url=UNREACHABLE,
                   extra=queue_extra(pki, tmp_path, city.url, attempts=8, backoff="200ms", max_backoff="1s"))


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_valid_replayed_and_bad(dialect, dgw, city):  # noqa: F811
    route, path, cert, make, shape = DIALECTS[dialect]
    bank = bank_for(dgw, cert)
    d, fields = make()
    ref = f"HS-{dialect}-0001"
    first = bank.send(d, fields(ref), path)
    assert first.acked == "ok", first.attempts
    got = wait_deliveries(city, 1)
    assert len(got) == 1
    assert got[0]["path"] == "/city/payments"
    assert got[0]["json"] == dict(shape, order_ref=ref), json.dumps(got[0]["json"], ensure_ascii=False)
    assert got[0]["headers"]["idempotency-key"] == ref

    # The bank sends the same callback four more times: a duplicate ack each time, no new delivery.
    for _ in range(4):
        assert bank.send(d, fields(ref), path).acked == DUPLICATE[dialect]

    # Signed with the wrong key: its bad_signature ack, an audit line, nothing delivered.
    forged_d, forged = make("not-the-key")
    bad = bank.send(forged_d, forged(f"HS-{dialect}-BAD"), path)
    assert bad.acked is None
    want = ACKS[dialect]["bad_signature"]
    assert (bad.attempts[0]["status"], bad.attempts[0]["body"].decode()) == (want["status"], want["body"])
    time.sleep(0.5)
    assert len(city.deliveries) == 1
    assert list(city.applied) == [ref]
    lines = [a for a in audit_lines(dgw, "callback.bad_signature") if a.get("route") == route]
    assert len(lines) == 1, lines
    assert lines[0]["key"] == f"HS-{dialect}-BAD"
    assert "does not match" in lines[0]["reason"]
    log = dgw.stderr()
    for secret in (VNPAY_SECRET, MOMO_SECRET, KEYPAY_KEY2):
        assert secret not in log


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_city_down_then_back(dialect, dgw, city):  # noqa: F811
    route, path, cert, make, shape = DIALECTS[dialect]
    d, fields = make()
    ref = f"HS-{dialect}-DOWN"
    city.down()
    assert bank_for(dgw, cert).send(d, fields(ref), path).acked == "ok"   # on disk: acked anyway
    time.sleep(1.0)                                                        # a few refused attempts
    city.up()
    applied = city.wait_applied(1)
    assert applied == {ref: dict(shape, order_ref=ref)}
    assert len(city.deliveries) == 1

"""The three payment dialects end to end through queue mode with the shipped mappings: VNPAY
(GET query, HMAC-SHA512 sorted-query), MoMo (JSON, HMAC-SHA256 pairs, 204) and KeyPay (JSON,
HMAC-SHA256 join). For each: a valid callback gets the ok ack and reaches the city once in the
city's one payment shape; a bad signature gets its ack, an audit line and nothing delivered; the
same callback five times is delivered once; with the city down it is retried and delivered
when the city comes back."""

import json
import time

import pytest

from queue_setup import city  # noqa: F401 (a fixture)
from queue_setup import (BANK, KEYPAY_ACKS, KEYPAY_KEY2, MOMO_ACKS, MOMO_SECRET, VNPAY_ACKS, VNPAY_SECRET,
                         audit_lines, keypay_confirm, momo_ipn, queue_extra, vnpay_query, wait_deliveries)

UNREACHABLE = "https://127.0.0.1:9/adapter"


def _vnpay(gw, ref, bad=False):
    q = vnpay_query(ref, secret="WRONG" + VNPAY_SECRET if bad else VNPAY_SECRET)
    return gw.request("GET", "/callbacks/vnpay/ipn?" + q, cert=BANK)


def _momo(gw, ref, bad=False):
    return gw.post("/callbacks/momo/ipn", momo_ipn(ref, secret="x" if bad else MOMO_SECRET), cert=BANK)


def _keypay(gw, ref, bad=False):
    return gw.post("/callbacks/keypay/confirm", keypay_confirm(ref, key="x" if bad else KEYPAY_KEY2), cert=BANK)


# name, route, sender, acks, what the city receives (without order_ref)
DIALECTS = {
    "vnpay": ("vnpay.ipn", _vnpay, VNPAY_ACKS,
              {"provider": "vnpay", "dossier_code": "000.00.01.H26-250115-0001", "amount": 120000,
               "paid": True, "provider_txn": "14226112", "bank_code": "NCB",
               "paid_at": "2025-01-15T10:30:12+07:00", "raw_code": "00"}),
    "momo": ("momo.ipn", _momo, MOMO_ACKS,
             {"provider": "momo", "dossier_code": "000.00.01.H26-250115-0001", "amount": 120000,
              "paid": True, "provider_txn": "4088878653", "pay_type": "qr",
              "paid_at": "2025-01-15T10:30:12.345+07:00", "raw_code": "0"}),
    "keypay": ("keypay.confirm", _keypay, KEYPAY_ACKS,
               {"provider": "keypay", "dossier_code": "000.30.21.H26-250115-0001", "amount": 120000,
                "paid": True, "provider_txn": "KP250115000001", "raw_code": "0"}),
}


def ack(resp):
    """(status, body text) as the acks are written in the config."""
    return resp.status, resp.text()


def expected(acks, name):
    a = acks[name]
    return a["status"], a.get("body", "")


@pytest.fixture
def dgw(gateway, pki, tmp_path, city):
    return gateway(upstream_url=UNREACHABLE,
                   extra=queue_extra(pki, tmp_path, city.url, attempts=8, backoff="200ms", max_backoff="1s"))


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_valid_bad_and_replayed(dialect, dgw, city):
    route, send, acks, shape = DIALECTS[dialect]
    ref = f"HS-{dialect}-0001"
    r = send(dgw, ref)
    assert ack(r) == expected(acks, "ok"), r.text()
    got = wait_deliveries(city, 1)
    assert len(got) == 1
    assert got[0]["path"] == "/city/payments"
    assert got[0]["json"] == dict(shape, order_ref=ref), json.dumps(got[0]["json"], ensure_ascii=False)
    assert got[0]["headers"]["idempotency-key"] == ref

    # The same callback again, four more times: acked as a duplicate, never delivered again.
    for _ in range(4):
        assert ack(send(dgw, ref)) == expected(acks, "duplicate")

    # A bad signature: its ack, an audit line, nothing delivered.
    r = send(dgw, f"HS-{dialect}-BAD", bad=True)
    assert ack(r) == expected(acks, "bad_signature")
    time.sleep(0.5)
    assert len(city.deliveries) == 1
    assert list(city.applied) == [ref]
    lines = [a for a in audit_lines(dgw, "callback.bad_signature") if a.get("route") == route]
    assert len(lines) == 1, lines
    assert lines[0]["key"] == f"HS-{dialect}-BAD" and lines[0]["client"] == "CN=some-other-system"
    assert "does not match" in lines[0]["reason"]
    log = dgw.stderr()
    for secret in (VNPAY_SECRET, MOMO_SECRET, KEYPAY_KEY2):
        assert secret not in log


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_city_down_then_back(dialect, dgw, city):
    route, send, acks, shape = DIALECTS[dialect]
    ref = f"HS-{dialect}-DOWN"
    city.down()
    assert ack(send(dgw, ref)) == expected(acks, "ok")   # on disk: the bank is answered anyway
    time.sleep(1.0)                                        # a few refused attempts
    city.up()
    applied = city.wait_applied(1)
    assert applied == {ref: dict(shape, order_ref=ref)}
    assert len(city.deliveries) == 1

"""The bank sandbox on its own (tests/sandbox/bank.py): its signatures are the FORMATS.md vectors
(the same ones adapters/sign.c is tested with, so the bank and the gateway agree), and it sends,
acknowledges and resends the way the issue asks, against a scripted merchant over mTLS. Later
tests that drive callbacks through the gateway trust what this file proves."""

import json
import os
import random
import time
import urllib.parse

import pytest

from bank import Bank, Keypay, Momo, Vnpay, join, pairs, php_urlencode, sorted_query
from harness import REPO
from mtls import MtlsSandbox as Listener, peer_cn

# FORMATS.md §3.1, §3.2, §2.9 (the invented and the published sandbox keys).
VNPAY_SECRET = "TESTSECRETKEY1234567890ABCDEFGHI"
VNPAY_HASH = ("5846ddaea1b6f6877cc67a894a989b0aa4f26d72beaeea6d020c0f1cdc0e0c82"
              "e35e4d8dcb9675541c7881501feabca202828fc85ef9015cedc064c39f87e8c2")
VNPAY_CANON = ("vnp_Amount=12000000&vnp_BankCode=NCB&vnp_BankTranNo=VNP14226112&vnp_CardType=ATM&"
               "vnp_OrderInfo=Thanh+toan+le+phi+ho+so+000.00.01.H26-250115-0001&vnp_PayDate=20250115103012&"
               "vnp_ResponseCode=00&vnp_TmnCode=DEMOV210&vnp_TransactionNo=14226112&vnp_TransactionStatus=00&"
               "vnp_TxnRef=HS250115000123")
MOMO_SECRET, MOMO_ACCESS = "K951B6PE1waDMi640xX08PD3vg6EkVlz", "F8BBA842ECF85"
MOMO_SIG = "9943e72642d1a99e4bca6ecd977763e21e85d92669d18cca126ca488d866d31c"
KEYPAY_KEY = "HASHKEY1TEST"
KEYPAY_SUM = "d679cbd6a6c1badb56bf21df16cdb745bee6c5c14fb2f5fa86dbc301fa228d53"

VNPAY_ACK_OK = b'{"RspCode":"00","Message":"Confirm Success"}'
VNPAY_ACK_DUP = b'{"RspCode":"02","Message":"Order already confirmed"}'
VNPAY_ACK_ERR = b'{"RspCode":"99","Message":"Unknown error"}'


def vnpay_vector():
    return Vnpay(VNPAY_SECRET).ipn("HS250115000123", 120000,
                                   order_info="Thanh toan le phi ho so 000.00.01.H26-250115-0001")


def momo_vector():
    return Momo(MOMO_SECRET, MOMO_ACCESS).ipn("HS250115000123", 120000)


# ---- signatures ----------------------------------------------------------------------------------

def test_vnpay_signature_is_the_formats_vector():
    d = Vnpay(VNPAY_SECRET)
    fields = vnpay_vector()
    assert d.canonical(fields) == VNPAY_CANON
    signed = d.sign(fields)
    assert signed["vnp_SecureHash"] == VNPAY_HASH
    assert list(signed)[-1] == "vnp_SecureHash"
    # 2.0.x's vnp_SecureHashType, empty values and other prefixes take no part.
    assert d.canonical(dict(fields, vnp_SecureHashType="SHA512", vnp_Bill_Mobile="", utm="x")) == VNPAY_CANON


def test_php_urlencode_is_what_vnpay_signs():
    # The same bytes as test_sign.c's vnpay_urlencodes_like_php: PHP escapes * and ~.
    assert php_urlencode("a b*~/:é") == "a+b%2A%7E%2F%3A%C3%A9"
    assert php_urlencode("-_.AZaz09") == "-_.AZaz09"
    assert sorted_query({"vnp_b": "a b*~/:é", "vnp_a": "-_.AZaz09", "vnp_C": "x", "vnp_n": 7}, "vnp_") == \
        "vnp_C=x&vnp_a=-_.AZaz09&vnp_b=a+b%2A%7E%2F%3A%C3%A9&vnp_n=7"


def test_momo_signature_is_the_formats_vector():
    d = Momo(MOMO_SECRET, MOMO_ACCESS)
    fields = momo_vector()
    assert d.canonical(fields) == (
        "accessKey=F8BBA842ECF85&amount=120000&extraData=&message=Thành công.&orderId=HS250115000123"
        "&orderInfo=Le phi ho so&orderType=momo_wallet&partnerCode=MOMO&payType=qr&requestId=HS250115000123"
        "&responseTime=1736911812345&resultCode=0&transId=4088878653")
    assert d.sign(fields)["signature"] == MOMO_SIG
    assert "accessKey" not in d.sign(fields)        # the merchant's own, never in the body


def test_keypay_checksum_is_the_formats_vector():
    d = Keypay(KEYPAY_KEY)
    fields = d.confirm("123_4f1c2a9b-77e0-4c", 120000)
    assert d.canonical(fields) == "0|CLIENT01|PAY|120000|123_4f1c2a9b-77e0-4c|3.0"
    assert d.sign(fields)["check_sum"] == KEYPAY_SUM


@pytest.mark.parametrize("change", [
    ("vnp_Amount", "12000001"), ("vnp_TmnCode", "demov210"), ("vnp_Extra", "1"),
], ids=["one-byte", "case", "extra-field"])
def test_vnpay_signature_covers_every_signed_field(change):
    d = Vnpay(VNPAY_SECRET)
    forged = dict(d.sign(vnpay_vector()), **{change[0]: change[1]})
    assert d.sign(forged)["vnp_SecureHash"] != VNPAY_HASH
    assert Vnpay("TESTSECRETKEY1234567890ABCDEFGHJ").sign(vnpay_vector())["vnp_SecureHash"] != VNPAY_HASH


def test_canonical_helpers():
    assert pairs({"a": 1, "b": True, "c": None}, ["c", "a", "b"]) == "c=&a=1&b=true"
    assert join({"a": "x", "b": 2}, ["b", "a"], "-") == "2-x"
    with pytest.raises(KeyError):
        join({"a": "x"}, ["a", "missing"])
    with pytest.raises(ValueError):
        pairs({"amount": 1.5}, ["amount"])


# ---- sending -------------------------------------------------------------------------------------

class Merchant(Listener):
    """A scripted callback receiver over mTLS (the sandboxes' listener, threads and connection
    tracking): answers the scripted (status, body) in turn, then the last one again,
    and records what it received."""

    def __init__(self, pki, answers):
        super().__init__(port=0, cert=pki["sandbox.crt"], key=pki["sandbox.key"], client_ca=pki["ca.crt"])
        self.script = list(answers)

    def _serve(self, h):
        body = h.read_body()
        target = urllib.parse.urlsplit(h.path)
        with self._lock:
            self._received.append({"method": h.command, "path": target.path, "query": target.query,
                                   "headers": {k.lower(): v for k, v in h.headers.items()},
                                   "raw": body, "peer_cn": peer_cn(h.connection), "time": time.monotonic()})
            status, answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        h.send_response(status)
        if answer:
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(answer)))
        h.end_headers()
        h.wfile.write(answer)
        h.wfile.flush()


@pytest.fixture
def merchant(pki):
    servers = []

    def start(*answers):
        srv = Merchant(pki, answers).start()
        servers.append(srv)
        return srv
    yield start
    for srv in servers:
        srv.stop()


def bank_for(pki, srv, cert="bank", **kw):
    kw.setdefault("first_gap", 0.05)
    return Bank("127.0.0.1", srv.port, pki.client_context(cert), **kw)


def test_vnpay_ipn_is_a_signed_get_with_the_bank_certificate(pki, merchant):
    srv = merchant((200, VNPAY_ACK_OK))
    d = Vnpay(VNPAY_SECRET)
    result = bank_for(pki, srv).send(d, vnpay_vector(), "/callbacks/vnpay/ipn")
    assert result.acked == "ok" and result.statuses == [200]
    [got] = srv.received
    assert (got["method"], got["path"], got["raw"]) == ("GET", "/callbacks/vnpay/ipn", b"")
    assert got["peer_cn"] == "vnpay-ipn"
    # What arrives is the FORMATS.md IPN, hash included, and it verifies on the receiving side.
    fields = dict(urllib.parse.parse_qsl(got["query"], keep_blank_values=True, strict_parsing=True))
    assert fields["vnp_SecureHash"] == VNPAY_HASH
    assert fields["vnp_OrderInfo"] == "Thanh toan le phi ho so 000.00.01.H26-250115-0001"
    assert d.sign(fields)["vnp_SecureHash"] == fields["vnp_SecureHash"]


def test_resends_with_growing_gaps_until_acknowledged(pki, merchant):
    srv = merchant((503, b""), (200, VNPAY_ACK_ERR), (500, b"oops"), (200, VNPAY_ACK_DUP))
    bank = bank_for(pki, srv, attempts=6, first_gap=0.05, factor=2.0)
    result = bank.send(Vnpay(VNPAY_SECRET), vnpay_vector(), "/ipn")
    assert result.acked == "duplicate"                # 02 stops VNPAY as 00 does
    assert result.statuses == [503, 200, 500, 200]
    times = [r["time"] for r in srv.received]
    assert len(times) == 4
    # Each gap at least what the schedule says (0.05, 0.1, 0.2 s); never an upper bound.
    for (a, b), gap in zip(zip(times, times[1:]), bank.gaps()):
        assert b - a >= gap * 0.9
    # Every attempt is the same signed callback.
    assert len({r["query"] for r in srv.received}) == 1
    assert [a["n"] for a in bank.sent] == [1, 2, 3, 4]


def test_gives_up_after_the_attempts(pki, merchant):
    srv = merchant((200, VNPAY_ACK_ERR))
    bank = bank_for(pki, srv, attempts=3, first_gap=0.01)
    result = bank.send(Vnpay(VNPAY_SECRET), vnpay_vector(), "/ipn")
    assert result.acked is None
    assert result.statuses == [200, 200, 200]
    assert len(srv.received) == 3
    assert bank.gaps() == [0.01, 0.02]


def test_an_unreachable_merchant_is_retried_as_errors(pki, merchant):
    srv = merchant((204, b""))
    port = srv.port
    srv.stop()
    bank = Bank("127.0.0.1", port, pki.client_context("momo"), attempts=2, first_gap=0.01)
    result = bank.send(Momo(MOMO_SECRET, MOMO_ACCESS), momo_vector(), "/ipn")
    assert result.acked is None
    assert [a["status"] for a in result.attempts] == [None, None]
    assert all(a["error"] for a in result.attempts)


def test_momo_ipn_is_signed_json_acked_by_204(pki, merchant):
    srv = merchant((200, b'{"resultCode":0}'), (204, b""))
    result = bank_for(pki, srv, cert="momo").send(Momo(MOMO_SECRET, MOMO_ACCESS), momo_vector(), "/momo")
    assert result.acked == "ok" and result.statuses == [200, 204]     # MoMo wants 204, nothing else
    got = srv.received[-1]
    assert got["method"] == "POST" and got["headers"]["content-type"] == "application/json"
    assert got["peer_cn"] == "momo-ipn"
    body = json.loads(got["raw"])
    assert body["signature"] == MOMO_SIG and body["amount"] == 120000 and body["message"] == "Thành công."


def test_keypay_confirmation_is_acked_by_return_code_0(pki, merchant):
    srv = merchant((200, b'{"return_code":-1,"return_msg":"error"}'), (200, b'{"return_code":0,"return_msg":"success"}'))
    d = Keypay(KEYPAY_KEY)
    result = bank_for(pki, srv, cert="keypay").send(d, d.confirm("123_4f1c2a9b-77e0-4c", 120000), "/kp")
    assert result.acked == "ok" and len(result.attempts) == 2
    assert srv.received[-1]["peer_cn"] == "keypay-ipn"
    assert json.loads(srv.received[-1]["raw"])["check_sum"] == KEYPAY_SUM


def test_a_forgery_is_sent_as_given(pki, merchant):
    srv = merchant((200, b'{"RspCode":"97","Message":"Invalid signature"}'))
    d = Vnpay(VNPAY_SECRET)
    forged = dict(d.sign(vnpay_vector()), vnp_Amount="1")
    result = bank_for(pki, srv, attempts=1).send(d, forged, "/ipn", sign=False)
    assert result.acked is None
    fields = dict(urllib.parse.parse_qsl(srv.received[0]["query"]))
    assert fields["vnp_Amount"] == "1" and fields["vnp_SecureHash"] == VNPAY_HASH


def test_stop_ends_the_waits(pki, merchant):
    srv = merchant((503, b""))
    bank = bank_for(pki, srv, attempts=5, first_gap=30.0)
    bank.stop()
    t0 = time.monotonic()
    result = bank.send(Vnpay(VNPAY_SECRET), vnpay_vector(), "/ipn")
    assert len(result.attempts) == 1
    assert time.monotonic() - t0 < 25, "stop() must not let a 30 s gap run"


# ---- agreement with the gateway ------------------------------------------------------------------

AGREEMENT = REPO / "tests" / "unit" / "fixtures" / "verify" / "agreement.txt"
TRICKY = "aZ09 -_.*~+%&=/:?#|;,'\"<>()[]{}éưỆđ\t"


def _tricky(rnd, empty_ok=True):
    n = rnd.randrange(0 if empty_ok else 1, 12)
    return "".join(rnd.choice(TRICKY) for _ in range(n))


def agreement_cases(n=40, seed=4):
    """Signed callbacks with awkward values, one per line: 'vnpay<TAB>query string' or
    'momo|keypay<TAB>JSON'. tests/unit/test_verify.c verifies every line through the gateway's
    decoders and lt_verify with the FORMATS.md keys: the two implementations agree on each."""
    rnd = random.Random(seed)
    vnpay, momo, keypay = Vnpay(VNPAY_SECRET), Momo(MOMO_SECRET, MOMO_ACCESS), Keypay(KEYPAY_KEY)
    lines = []
    for i in range(n):
        f = vnpay.ipn(f"HS{i:04d}", rnd.randrange(1, 10**9), order_info=_tricky(rnd, False))
        for k in rnd.sample(["vnp_Bill_Mobile", "vnp_Inv_Email", "vnp_Locale", "vnp_Extra"], 2):
            f[k] = _tricky(rnd)                     # sometimes empty: then not signed
        method, target, _, _ = vnpay.request(vnpay.sign(f), "/ipn")
        lines.append("vnpay\t" + target.split("?", 1)[1])
        m = momo.ipn(f"MM{i:04d}", rnd.randrange(1, 10**9), order_info=_tricky(rnd), trans_id=rnd.randrange(10**12))
        m["extraData"] = _tricky(rnd)
        lines.append("momo\t" + json.dumps(momo.sign(m), ensure_ascii=False))
        k = keypay.confirm(f"KP_{i}-{_tricky(rnd, False)}", rnd.randrange(1, 10**9), description=_tricky(rnd))
        lines.append("keypay\t" + json.dumps(keypay.sign(k), ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def test_agreement_fixture_is_what_the_bank_signs():
    """The fixture the C side verifies is exactly what this bank sends (regenerate it with
    LT_WRITE_AGREEMENT=1 after changing the bank's signing)."""
    text = agreement_cases()
    if os.environ.get("LT_WRITE_AGREEMENT"):
        AGREEMENT.write_text(text, encoding="utf-8")
    assert AGREEMENT.read_text(encoding="utf-8") == text, \
        "tests/unit/fixtures/verify/agreement.txt is stale: LT_WRITE_AGREEMENT=1 regenerates it"

"""queue_setup.py: what the queue-mode tests (test_2x_*) share: the city sandbox, the config
that adds the `city` upstream and queue routes to the harness's gateway config, and small
clients for the message endpoints. Standard library only."""

import hashlib
import hmac
import http.client
import json
import time
import urllib.parse
from pathlib import Path

import pytest

from harness import Response, send
from city import CitySandbox

CALLBACK = "/callbacks/test/ipn"       # a JSON callback with acks (MoMo-style: 204 ok)
SIGNED = "/callbacks/test/signed"      # the same with `verify:`
OUTBOUND = "/v1/city/receipts"         # outbound work without acks: 202 {"message_id"}
SYNC = "/v1/city/sync"                 # a sync route to the city (circuit breaker)
SYNC_IPN = "/callbacks/test/sync"      # a sync callback with acks
BANK = "other-client"                  # the payment platform's certificate (CN=some-other-system)
CITY = "city"                          # the city system's (CN=hanoi-dossier-system)

ACK_DUP = '{"resultCode":0,"message":"already confirmed"}'
ACK_ERR = '{"resultCode":99,"message":"unknown error"}'
ACK_BAD = '{"resultCode":97,"message":"invalid signature"}'

MAPPING = """\
request:
  in: json
  out: json
  fields:
    payment_ref: { from: orderId, required: true }
    amount:      { from: amount, type: integer, required: true }
    result:      { from: resultCode, type: string }
    paid_at:     { from: responseTime }
"""

SYNC_MAPPING = """\
request:
  in: json
  out: json
  fields:
    x: { from: x }
response:
  in: json
  out: json
  fields:
    status: { from: status }
"""


def new_city(pki):
    return CitySandbox(port=0, cert=pki["sandbox.crt"], key=pki["sandbox.key"],
                       client_ca=pki["ca.crt"]).start()


@pytest.fixture
def city(pki):
    """A city sandbox for one test (import it into the test module to use it)."""
    srv = new_city(pki)
    yield srv
    srv.stop()


def wait_deliveries(city, n, timeout=30.0):
    """The city's deliveries once there are at least n (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(city.deliveries) < n:
        time.sleep(0.05)
    return city.deliveries


def queue_extra(pki, workdir, city_url, attempts=4, backoff="200ms", max_backoff="2s",
                circuit=None, total_timeout="3s"):
    """Config additions: the city upstream and the test routes."""
    mapping = Path(workdir) / "payment-to-city.yaml"
    mapping.parent.mkdir(parents=True, exist_ok=True)
    mapping.write_text(MAPPING)
    sync_mapping = Path(workdir) / "sync-to-city.yaml"
    sync_mapping.write_text(SYNC_MAPPING)
    city = {
        "url": city_url,
        "tls": {"ca": pki["ca.crt"], "cert": pki["gw-client.crt"], "key": pki["gw-client.key"]},
        "timeout": {"connect": "2s", "total": total_timeout},
        "retry": {"attempts": attempts, "backoff": backoff, "max_backoff": max_backoff,
                  "on": ["connect", "timeout", 502, 503, 504]},
    }
    if circuit:
        city["circuit"] = circuit
    acks = {"ok": {"status": 204},
            "duplicate": {"status": 200, "body": ACK_DUP},
            "bad_signature": {"status": 200, "body": ACK_BAD},
            "error": {"status": 200, "body": ACK_ERR}}
    callback = {"listener": "public", "match": {"method": "POST", "path": CALLBACK},
                "allow": ["CN=some-other-system"], "mapping": str(mapping), "upstream": "city",
                "path": "/payments", "mode": "queue", "idempotency_key": "orderId", "ack": acks}
    signed = dict(callback, match={"method": "POST", "path": SIGNED},
                  verify={"type": "hmac", "algorithm": "sha256", "key": "test-secret",
                          "signature": "signature",
                          "canonical": {"form": "pairs", "fields": ["amount", "orderId"]}})
    return {
        "upstreams": {"city": city},
        "routes": {
            **dialect_routes(),
            "test.ipn": callback,
            "test.signed": signed,
            "city.receipts": {"listener": "public", "match": {"method": "POST", "path": OUTBOUND},
                              "allow": ["CN=hanoi-dossier-system"], "upstream": "city",
                              "path": "/receipts", "mode": "queue"},
            "city.sync": {"listener": "public", "match": {"method": "POST", "path": SYNC},
                          "allow": ["CN=hanoi-dossier-system"], "upstream": "city", "path": "/sync",
                          "mapping": str(sync_mapping), "mode": "sync"},
            "test.sync_ipn": {"listener": "public", "match": {"method": "POST", "path": SYNC_IPN},
                              "allow": ["CN=some-other-system"], "upstream": "city", "path": "/sync",
                              "mapping": str(sync_mapping), "mode": "sync", "ack": acks},
        },
    }


def payment(order, amount=100000):
    return {"partnerCode": "MOMO", "orderId": order, "requestId": order, "amount": amount,
            "resultCode": 0, "message": "Successful.", "responseTime": 1700000000000}


def admin(gw, method, path):
    conn = http.client.HTTPConnection("127.0.0.1", gw.admin_port, timeout=10)
    try:
        return send(conn, method, path)
    finally:
        conn.close()


def message(gw, mid, cert=BANK):
    return gw.request("GET", f"/v1/messages/{mid}", cert=cert)


def wait_state(gw, mid, state, cert=BANK, timeout=30.0):
    """Polls GET /v1/messages/{id} until the state is reached; returns the last document."""
    deadline = time.monotonic() + timeout
    doc = None
    while time.monotonic() < deadline:
        r = gw.request("GET", f"/v1/messages/{mid}", cert=cert)
        assert r.status == 200, r.text()
        doc = r.json()
        if doc["state"] == state:
            return doc
        time.sleep(0.1)
    raise AssertionError(f"message {mid} did not become {state} within {timeout}s: {doc}")


def audit_lines(gw, event):
    return [d for d in gw.log_lines() if d.get("type") == "audit" and d.get("event") == event]


def as_json(resp: Response):
    return json.loads(resp.body) if resp.body else None


# ---- the three payment dialects, as shipped in mappings/ and conf/lienthong.yaml --------------

REPO = Path(__file__).resolve().parents[2]
VNPAY_SECRET = "TESTSECRETKEY1234567890ABCDEFGHI"       # FORMATS.md §3.1's invented HashSecret
MOMO_ACCESS, MOMO_SECRET = "F8BBA842ECF85", "K951B6PE1waDMi640xX08PD3vg6EkVlz"   # §3.2's sandbox keys
KEYPAY_KEY2 = "e2e-keypay-hash-key-2"
MOMO_FIELDS = ["accessKey", "amount", "extraData", "message", "orderId", "orderInfo", "orderType",
               "partnerCode", "payType", "requestId", "responseTime", "resultCode", "transId"]
KEYPAY_FIELDS = ["addition_fee", "client_id", "command", "trans_amount", "transaction_id", "version"]

VNPAY_ACKS = {"ok": {"status": 200, "body": '{"RspCode":"00","Message":"Confirm Success"}'},
              "duplicate": {"status": 200, "body": '{"RspCode":"02","Message":"Order already confirmed"}'},
              "bad_signature": {"status": 200, "body": '{"RspCode":"97","Message":"Invalid signature"}'},
              "error": {"status": 200, "body": '{"RspCode":"99","Message":"Unknown error"}'}}
MOMO_ACKS = {"ok": {"status": 204}, "duplicate": {"status": 204},
             "bad_signature": {"status": 400, "body": '{"resultCode":97,"message":"Invalid signature"}'},
             "error": {"status": 500, "body": '{"resultCode":99,"message":"Unknown error"}'}}
KEYPAY_ACKS = {"ok": {"status": 200, "body": '{"return_code":0,"return_msg":"success"}'},
               "duplicate": {"status": 200, "body": '{"return_code":0,"return_msg":"success"}'},
               "bad_signature": {"status": 200, "body": '{"return_code":-1,"return_msg":"error: check_sum invalid"}'},
               "error": {"status": 200, "body": '{"return_code":-1,"return_msg":"error: unknown"}'}}


def _php_urlencode(s):
    return urllib.parse.quote_plus(s, safe="").replace("~", "%7E")


def vnpay_query(txn_ref, amount_vnd=120000, code="00", secret=VNPAY_SECRET):
    """A signed VNPAY IPN query string (HMAC-SHA512 over the sorted vnp_* fields)."""
    f = {"vnp_Amount": str(amount_vnd * 100), "vnp_BankCode": "NCB", "vnp_BankTranNo": "VNP14226112",
         "vnp_CardType": "ATM", "vnp_OrderInfo": "Thanh toan le phi ho so 000.00.01.H26-250115-0001",
         "vnp_PayDate": "20250115103012", "vnp_ResponseCode": code, "vnp_TmnCode": "DEMOV210",
         "vnp_TransactionNo": "14226112", "vnp_TransactionStatus": code, "vnp_TxnRef": txn_ref}
    signed = "&".join(f"{_php_urlencode(k)}={_php_urlencode(v)}" for k, v in sorted(f.items()))
    f["vnp_SecureHash"] = hmac.new(secret.encode(), signed.encode(), hashlib.sha512).hexdigest()
    return "&".join(f"{_php_urlencode(k)}={_php_urlencode(v)}" for k, v in f.items())


def momo_ipn(order_id, amount=120000, secret=MOMO_SECRET):
    doc = {"partnerCode": "MOMO", "orderId": order_id, "requestId": order_id, "amount": amount,
           "orderInfo": "Le phi ho so 000.00.01.H26-250115-0001", "orderType": "momo_wallet",
           "transId": 4088878653, "resultCode": 0, "message": "Thành công.", "payType": "qr",
           "responseTime": 1736911812345, "extraData": ""}
    vals = dict(doc, accessKey=MOMO_ACCESS)
    raw = "&".join(f"{k}={vals[k]}" for k in MOMO_FIELDS)
    doc["signature"] = hmac.new(secret.encode(), raw.encode(), hashlib.sha256).hexdigest()
    return doc


def keypay_confirm(txn_id, amount=120000, key=KEYPAY_KEY2):
    doc = {"client_id": "CLIENT01", "transaction_id": txn_id, "transaction_code": "KP250115000001",
           "trans_amount": str(amount), "payment_fee": "0", "command": "PAY", "addition_fee": "0",
           "version": "3.0", "description": "Nộp lệ phí hồ sơ 000.30.21.H26-250115-0001", "locale": "vn",
           "country_code": "vi", "currency_code": "VND", "environment": "1", "status": "0"}
    raw = "|".join(doc[k] for k in KEYPAY_FIELDS)
    doc["check_sum"] = hmac.new(key.encode(), raw.encode(), hashlib.sha256).hexdigest()
    return doc


def dialect_routes():
    """vnpay.ipn, momo.ipn, keypay.confirm as conf/lienthong.yaml wires them (test secrets)."""
    common = {"listener": "public", "allow": ["CN=some-other-system"], "upstream": "city",
              "path": "/payments", "mode": "queue"}
    return {
        "vnpay.ipn": dict(common, match={"method": "GET", "path": "/callbacks/vnpay/ipn"},
                          verify={"type": "hmac", "algorithm": "sha512", "key": VNPAY_SECRET,
                                  "signature": "vnp_SecureHash",
                                  "canonical": {"form": "sorted-query", "prefix": "vnp_",
                                                "exclude": ["vnp_SecureHash", "vnp_SecureHashType"]}},
                          idempotency_key="vnp_TxnRef", ack=VNPAY_ACKS,
                          mapping=str(REPO / "mappings/vnpay/ipn-to-city.yaml")),
        "momo.ipn": dict(common, match={"method": "POST", "path": "/callbacks/momo/ipn"},
                         verify={"type": "hmac", "algorithm": "sha256", "key": MOMO_SECRET,
                                 "signature": "signature",
                                 "canonical": {"form": "pairs", "fields": MOMO_FIELDS,
                                               "values": {"accessKey": MOMO_ACCESS}}},
                         idempotency_key="orderId", ack=MOMO_ACKS,
                         mapping=str(REPO / "mappings/momo/ipn-to-city.yaml")),
        "keypay.confirm": dict(common, match={"method": "POST", "path": "/callbacks/keypay/confirm"},
                               verify={"type": "hmac", "algorithm": "sha256", "key": KEYPAY_KEY2,
                                       "signature": "check_sum",
                                       "canonical": {"form": "join", "fields": KEYPAY_FIELDS}},
                               idempotency_key="transaction_id", ack=KEYPAY_ACKS,
                               mapping=str(REPO / "mappings/keypay/confirm-to-city.yaml")),
    }

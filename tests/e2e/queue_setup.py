"""queue_setup.py: what the queue-mode tests (test_2x_*) share: the city sandbox, the config
that adds the `city` upstream and queue routes to the harness's gateway config, and small
clients for the message endpoints. Standard library only."""

import http.client
import json
import time
from pathlib import Path

import pytest

from harness import Response, send
from bank import Bank, Keypay, Momo
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


def metric(gw, line_start):
    """The value of the first /metrics line starting with line_start (a name with its labels)."""
    text = admin(gw, "GET", "/metrics").text()
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no metric {line_start} in /metrics")


def audit_lines(gw, event):
    return [d for d in gw.log_lines() if d.get("type") == "audit" and d.get("event") == event]


def as_json(resp: Response):
    return json.loads(resp.body) if resp.body else None


# ---- the three payment dialects, as shipped in mappings/ and conf/lienthong.yaml --------------

REPO = Path(__file__).resolve().parents[2]
VNPAY_SECRET = "TESTSECRETKEY1234567890ABCDEFGHI"       # FORMATS.md §3.1's invented HashSecret
MOMO_ACCESS, MOMO_SECRET = "F8BBA842ECF85", "K951B6PE1waDMi640xX08PD3vg6EkVlz"   # §3.2's sandbox keys
KEYPAY_KEY2 = "e2e-keypay-hash-key-2"
MOMO_FIELDS = list(Momo.SIGNED)          # what the verify: blocks name, as the bank signs it
KEYPAY_FIELDS = list(Keypay.SIGNED)

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


def bank_for(gw, cert, attempts=1, first_gap=0.05, max_gap=0.5):
    """A bank (tests/sandbox/bank.py) calling this gateway back with NAME.crt."""
    return Bank("127.0.0.1", gw.port, gw.pki.client_context(cert), attempts=attempts, first_gap=first_gap,
                factor=1.5, max_gap=max_gap, timeout=20)


def dialect_routes():
    """vnpay.ipn, momo.ipn, keypay.confirm as conf/lienthong.yaml wires them (test secrets)."""
    common = {"listener": "public", "upstream": "city", "path": "/payments", "mode": "queue"}
    return {
        "vnpay.ipn": dict(common, allow=["CN=vnpay-ipn"], match={"method": "GET", "path": "/callbacks/vnpay/ipn"},
                          verify={"type": "hmac", "algorithm": "sha512", "key": VNPAY_SECRET,
                                  "signature": "vnp_SecureHash",
                                  "canonical": {"form": "sorted-query", "prefix": "vnp_",
                                                "exclude": ["vnp_SecureHash", "vnp_SecureHashType"]}},
                          idempotency_key="vnp_TxnRef", ack=VNPAY_ACKS,
                          mapping=str(REPO / "mappings/vnpay/ipn-to-city.yaml")),
        "momo.ipn": dict(common, allow=["CN=momo-ipn"], match={"method": "POST", "path": "/callbacks/momo/ipn"},
                         verify={"type": "hmac", "algorithm": "sha256", "key": MOMO_SECRET,
                                 "signature": "signature",
                                 "canonical": {"form": "pairs", "fields": MOMO_FIELDS,
                                               "values": {"accessKey": MOMO_ACCESS}}},
                         idempotency_key="orderId", ack=MOMO_ACKS,
                         mapping=str(REPO / "mappings/momo/ipn-to-city.yaml")),
        "keypay.confirm": dict(common, allow=["CN=keypay-ipn"], match={"method": "POST", "path": "/callbacks/keypay/confirm"},
                               verify={"type": "hmac", "algorithm": "sha256", "key": KEYPAY_KEY2,
                                       "signature": "check_sum",
                                       "canonical": {"form": "join", "fields": KEYPAY_FIELDS}},
                               idempotency_key="transaction_id", ack=KEYPAY_ACKS,
                               mapping=str(REPO / "mappings/keypay/confirm-to-city.yaml")),
    }

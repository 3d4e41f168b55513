"""queue_setup.py: what the queue-mode tests (test_2x_*) share: the city sandbox, the config
that adds the `city` upstream and queue routes to the harness's gateway config, and small
clients for the message endpoints. Standard library only."""

import http.client
import json
import time
from pathlib import Path

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

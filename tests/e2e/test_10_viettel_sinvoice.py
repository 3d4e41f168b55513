"""Viettel S-Invoice through the gateway (FORMATS.md § 4.3): the city's invoice JSON in, the exact
createInvoice body at the sandbox (epoch milliseconds, Bearer token from /auth/login), Viettel's
answer mapped back, its refusals, and a log-in again when the token expires."""

from families import (SINVOICE_CREATE, SINVOICE_PASS, SINVOICE_USER, compact, example_json,
                      family_fixtures)
from harness import GATEWAY_CN, assert_error

ROUTE = "/v1/einvoice/viettel/invoices"

partner, gw = family_fixtures("viettel-sinvoice")


def creates(srv):
    return [r for r in srv.received if r["path"] == SINVOICE_CREATE]


def test_invoice_created_with_exact_body(gw, partner):
    r = gw.post(ROUTE, example_json("viettel-sinvoice", "invoice-fee.json"))
    assert r.status == 200, r.text()
    assert r.json() == {"ok": True, "number": "C25TAA15", "reservation_code": "SBX0000015",
                        "transaction_id": "0000000000000015", "error": None, "message": None}

    login, call = partner.received
    assert login["path"] == "/auth/login" and login["peer_cn"] == GATEWAY_CN
    assert login["raw"] == compact({"username": SINVOICE_USER, "password": SINVOICE_PASS})
    assert call["path"] == SINVOICE_CREATE and call["peer_cn"] == GATEWAY_CN
    assert call["headers"]["authorization"] == "Bearer " + partner.tokens[0]
    assert call["headers"]["content-type"].split(";")[0] == "application/json"
    # Golden: the mapping's own example, byte for byte (member order, epoch ms, numbers).
    golden = compact(example_json("viettel-sinvoice", "invoice-fee.viettel.json"))
    assert call["raw"] == golden
    assert b'"invoiceIssuedDate":1736911812000' in call["raw"]
    assert call["answer"]["status"] == 200


def test_duplicate_transaction_refused(gw, partner):
    doc = example_json("viettel-sinvoice", "invoice-fee.json")
    assert gw.post(ROUTE, doc).json()["ok"] is True
    r = gw.post(ROUTE, doc)
    assert r.status == 200, r.text()
    assert r.json() == {"ok": False, "number": None, "reservation_code": None, "transaction_id": None,
                        "error": "DUPLICATE_TRANSACTION_UUID", "message": "transactionUuid đã tồn tại"}
    assert len(partner.invoices) == 1


def test_expired_token_logs_in_again(gw, partner):
    doc = example_json("viettel-sinvoice", "invoice-fee.json")
    assert gw.post(ROUTE, doc).json()["ok"] is True
    partner.expire_tokens()
    doc["transaction_id"] = "4f1c2a9b-7d7e-4c1e-9f4e-000000000002"
    r = gw.post(ROUTE, doc)
    assert r.status == 200, r.text()
    assert r.json()["number"] == "C25TAA16"
    assert len(partner.tokens) == 2
    calls = creates(partner)
    assert [c["answer"]["status"] for c in calls] == [200, 401, 200]
    assert calls[2]["headers"]["authorization"] == "Bearer " + partner.tokens[1]


def test_invoice_refused_by_mapping_never_sent(gw, partner):
    doc = example_json("viettel-sinvoice", "invoice-fee.json")
    del doc["buyer"]["name"]
    r = gw.post(ROUTE, doc)
    assert_error(r, 422, "mapping.required", field="buyerInfo.buyerName", route="einvoice.viettel.create")
    doc = example_json("viettel-sinvoice", "invoice-fee.json")
    doc["issued_at"] = "15/01/2025"
    r = gw.post(ROUTE, doc)
    assert_error(r, 422, "mapping.date", field="generalInvoiceInfo.invoiceIssuedDate")
    assert creates(partner) == []


def test_sandbox_checks_what_viettel_checks(gw, partner):
    # The sandbox is not a pushover: a body that a careless mapping could produce is refused.
    doc = example_json("viettel-sinvoice", "invoice-fee.json")
    doc["total"] = 100001
    r = gw.post(ROUTE, doc)
    assert r.status == 200, r.text()
    body = r.json()
    assert body["ok"] is False and body["error"] == "INVALID_DATA"
    assert "totalAmountWithTax" in body["message"]

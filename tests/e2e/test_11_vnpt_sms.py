"""VNPT SMS brandname through the gateway (FORMATS.md § 5.2): the city's message JSON in, the
exact RQST envelope at the sandbox (84… numbers, numbered PARAMS, credentials from the
environment's defaults), the RPLY mapped back, and VNPT's refusals as the city sees them."""

from families import compact, example_json, family_fixtures
from harness import GATEWAY_CN, assert_error

ROUTE = "/v1/sms/vnpt"

partner, gw = family_fixtures("vnpt-sms")


def golden(name, srv):
    """An example's expected RQST with the sandbox's credentials where the example writes ***."""
    doc = example_json("vnpt-sms", name)
    doc["RQST"].update(APIUSER=srv.apiuser, APIPASS=srv.apipass, USERNAME=srv.username)
    return compact(doc)


def test_message_sent_with_exact_envelope(gw, partner):
    r = gw.post(ROUTE, example_json("vnpt-sms", "result-notice.json"))
    assert r.status == 200, r.text()
    assert r.json() == {"ok": True, "error": None, "message": "success"}
    (call,) = partner.received
    assert call["peer_cn"] == GATEWAY_CN and call["path"] == "/smsmarketing/api"
    assert call["raw"] == golden("result-notice.vnpt.json", partner)
    assert partner.sent[0]["MOBILELIST"] == "84912345678"


def test_scheduled_unicode_message(gw, partner):
    r = gw.post(ROUTE, example_json("vnpt-sms", "scheduled.json"))
    assert r.status == 200, r.text()
    assert r.json()["ok"] is True
    (call,) = partner.received
    assert call["raw"] == golden("scheduled.vnpt.json", partner)
    assert partner.sent[0]["SCHEDULETIME"] == "16-01-2025 08:30"


def test_refusals_mapped_back(gw, partner):
    doc = example_json("vnpt-sms", "result-notice.json")
    doc["template_id"] = "999999"
    r = gw.post(ROUTE, doc)
    assert r.status == 200, r.text()
    assert r.json() == {"ok": False, "error": "4", "message": "Template không tồn tại"}

    doc = example_json("vnpt-sms", "result-notice.json")
    assert gw.post(ROUTE, doc).json()["ok"] is True
    r = gw.post(ROUTE, doc)                  # the same REQID again
    assert r.json() == {"ok": False, "error": "6", "message": "REQID đã tồn tại"}

    doc = example_json("vnpt-sms", "result-notice.json")
    doc["request_id"] = "250115000999"
    doc["params"].append({"num": 2, "content": "thừa"})
    r = gw.post(ROUTE, doc)
    assert r.json() == {"ok": False, "error": "5", "message": "Tham số không khớp template"}
    assert len(partner.sent) == 1


def test_bad_phone_refused_before_sending(gw, partner):
    doc = example_json("vnpt-sms", "result-notice.json")
    doc["phone"] = "+1 212 555 0100"
    r = gw.post(ROUTE, doc)
    err = assert_error(r, 422, "mapping.phone", field="RQST.MOBILELIST", route="sms.vnpt.send")
    assert "is not a Vietnamese phone number" in err["message"]
    assert partner.received == []

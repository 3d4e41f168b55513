"""Viettel SMS brandname wsCpMt through the gateway (FORMATS.md § 5.1): the city's message in
Vietnamese, at the sandbox the exact SOAP envelope with unqualified children, the content without
diacritics (NFC or NFD input) and 84… numbers; result 1 / CONTENT_NOT_MATCH_TEMPL mapped back,
and a SOAP fault as 502 upstream.soap_fault."""

import unicodedata

from families import example, example_json, family_fixtures
from harness import GATEWAY_CN, assert_error
from soap import Fault

ROUTE = "/v1/sms/viettel"

partner, gw = family_fixtures("viettel-sms")


def test_message_sent_unaccented(gw, partner):
    r = gw.post(ROUTE, example_json("viettel-sms", "result-notice.json"))
    assert r.status == 200, r.text()
    assert r.json() == {"ok": True, "message": "Insert MT_QUEUE: OK"}
    (call,) = partner.received
    assert call["peer_cn"] == GATEWAY_CN and call["path"] == "/bulkapi"
    assert call["headers"]["content-type"] == "text/xml; charset=utf-8"
    assert call["raw"] == example("viettel-sms", "result-notice.viettel.xml").rstrip(b"\n")
    assert partner.sent == [{"to": "84912345678", "request_id": "250115000123",
                             "content": "Ho so 000.30.21.H26-250115-0001 da co ket qua. "
                                        "Tra cuu tai dichvucong.hanoi.gov.vn"}]


def test_decomposed_input_unaccented_too(gw, partner):
    doc = example_json("viettel-sms", "result-notice.json")
    doc["content"] = unicodedata.normalize("NFD", "Hồ sơ 000.30.21.H26-250115-0002 đã có kết quả. Mời ông bà đến nhận")
    assert doc["content"] != unicodedata.normalize("NFC", doc["content"])
    r = gw.post(ROUTE, doc)
    assert r.json()["ok"] is True, r.text()
    assert partner.sent[0]["content"] == "Ho so 000.30.21.H26-250115-0002 da co ket qua. Moi ong ba den nhan"


def test_content_not_matching_template(gw, partner):
    doc = example_json("viettel-sms", "result-notice.json")
    doc["content"] = "Chúc mừng năm mới"
    r = gw.post(ROUTE, doc)
    assert r.status == 200, r.text()
    assert r.json() == {"ok": False, "error": "CONTENT_NOT_MATCH_TEMPL",
                        "message": "Check template: CONTENT_NOT_MATCH_TEMPL"}
    assert partner.sent == []


def test_soap_fault_is_502_and_bad_phone_422(gw, partner):
    partner.fault = Fault("S:Server", "java.lang.NullPointerException")
    r = gw.post(ROUTE, example_json("viettel-sms", "result-notice.json"))
    err = assert_error(r, 502, "upstream.soap_fault", route="sms.viettel.send")
    assert "java.lang.NullPointerException" in err["message"]
    doc = example_json("viettel-sms", "result-notice.json")
    doc["phone"] = "12345"
    assert_error(gw.post(ROUTE, doc), 422, "mapping.phone", field="UserID")
    assert len(partner.received) == 1

"""VNPT Invoice ImportAndPublishInv through the gateway (FORMATS.md § 4.2): the city's receipt JSON
in; at the sandbox the exact SOAP 1.1 envelope, SOAPAction, and the TT78 receipt XML as CDATA
inside xmlInvData with its amount in words; VNPT's OK/ERR answers mapped back, and a SOAP fault
as 502 upstream.soap_fault. The sandbox's own refusals (malformed XML, DOCTYPE) are tested
straight, without the gateway."""

import xml.etree.ElementTree as ET

from families import example, example_json, family_fixtures
from harness import GATEWAY_CN, assert_error, sandbox_client, send
from soap import Fault

ROUTE = "/v1/einvoice/vnpt/receipts"
RESULT = "{http://tempuri.org/}ImportAndPublishInvResult"

partner, gw = family_fixtures("vnpt-invoice")


def golden(name):
    return example("vnpt-invoice", name).rstrip(b"\n")


def test_receipt_published_with_exact_envelope(gw, partner):
    r = gw.post(ROUTE, example_json("vnpt-invoice", "receipt-fee.json"))
    assert r.status == 200, r.text()
    assert r.json() == {"ok": True, "number": "15", "error": None, "code": None}

    (call,) = partner.received
    assert call["peer_cn"] == GATEWAY_CN and call["path"] == "/PublishService.asmx"
    assert call["headers"]["content-type"] == "text/xml; charset=utf-8"
    assert call["headers"]["soapaction"] == '"http://tempuri.org/ImportAndPublishInv"'
    # Golden: the whole envelope, byte for byte, CDATA included.
    assert call["raw"] == golden("receipt-fee.vnpt.xml")
    assert b"<t:xmlInvData><![CDATA[<DSHDon><HDon><key>HS250115000123</key>" in call["raw"]
    # Inside the CDATA the receipt is XML of its own, escaped once ("&amp;"), with the words.
    receipt = ET.fromstring(partner.published["HS250115000123"]["xml"])
    assert receipt.findtext("DLHDon/NDHDon/TToan/TgTTTBChu") == "Một triệu ba trăm hai mươi nghìn đồng"
    assert receipt.findtext("DLHDon/NDHDon/DSHHDVu/HHDVu[2]/THHDVu") == "Phí thẩm định hồ sơ & cấp bản sao"
    assert call["answer"]["body"].count("OK:1/001;C25TAA-HS250115000123_15") == 1


def test_duplicate_key_and_out_of_numbers(gw, partner):
    doc = example_json("vnpt-invoice", "receipt-fee.json")
    assert gw.post(ROUTE, doc).json()["ok"] is True
    r = gw.post(ROUTE, doc)
    assert r.status == 200, r.text()
    assert r.json() == {"ok": False, "number": None, "error": "duplicate_key", "code": "13"}
    partner.numbers_left = 0
    doc["receipt_id"] = "HS250115000124"
    r = gw.post(ROUTE, doc)
    assert r.json() == {"ok": False, "number": None, "error": "out_of_numbers", "code": "6"}
    partner.account = "someone-else"
    r = gw.post(ROUTE, doc)
    assert r.json() == {"ok": False, "number": None, "error": "unauthorized", "code": "1"}
    assert list(partner.published) == ["HS250115000123"]


def test_soap_fault_is_502(gw, partner):
    partner.fault = Fault("soap:Server", "Server was unable to process request. ---> Timeout expired")
    r = gw.post(ROUTE, example_json("vnpt-invoice", "receipt-fee.json"))
    err = assert_error(r, 502, "upstream.soap_fault", route="einvoice.vnpt.receipt")
    assert "soap:Server" in err["message"] and "Timeout expired" in err["message"]


def test_negative_total_refused_before_sending(gw, partner):
    doc = example_json("vnpt-invoice", "receipt-fee.json")
    doc["total"] = -1320000
    r = gw.post(ROUTE, doc)
    assert_error(r, 422, "mapping.min", route="einvoice.vnpt.receipt")
    assert partner.received == []


def test_sandbox_faults_on_unreadable_requests(pki, partner):
    head = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"http://tempuri.org/ImportAndPublishInv"'}
    conn = sandbox_client(pki, partner.port)
    try:
        r = send(conn, "POST", "/PublishService.asmx", b"<soap:Envelope><unclosed>", head)
        assert r.status == 500 and b"<faultcode>soap:Client</faultcode>" in r.body
        dtd = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
               b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>')
        r = send(conn, "POST", "/PublishService.asmx", dtd, head)
        assert r.status == 500 and b"DTD is prohibited" in r.body
        r = send(conn, "POST", "/PublishService.asmx", golden("receipt-fee.vnpt.xml"), head)
        assert r.status == 200
        assert ET.fromstring(r.body).find(".//" + RESULT).text == "OK:1/001;C25TAA-HS250115000123_15"
    finally:
        conn.close()

"""XML and SOAP through the gateway: a route that reads XML refuses hostile documents with 400
before anything reaches the upstream; a route that writes SOAP sends the exact envelope with its
SOAPAction, maps the SOAP answer back, and turns a SOAP fault (on HTTP 500) into a 502 envelope
that names the fault."""

import json
import re

import pytest

from harness import (CITY_CN, DSTCODE, DVCQG_USER, PASSWORD, assert_error)
from dvcqg import AUTH_PATH, DvcqgSandbox

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


class XmlUpstream(DvcqgSandbox):
    """The DVCQG sandbox's mutual TLS and login, with a canned answer (status, content type,
    bytes) to every other call, as an XML or SOAP partner gives."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.answer = (200, "application/json", b"{}")

    def _serve(self, h):
        body = h.read_body() or b""
        path = h.path.split("?", 1)[0]
        with self._lock:
            self._received.append({"path": path, "raw": body,
                                   "headers": {k.lower(): v for k, v in h.headers.items()}})
        if path == AUTH_PATH:
            h.send_json(200, self._login(json.loads(body.decode("utf-8"))))
            return
        status, ctype, data = self.answer
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()

    def calls(self, service=None):
        return [r for r in self.received if r["path"] != AUTH_PATH]


XML_IN = """\
request:
  in: xml
  out: json
  namespaces: { d: "urn:hoso" }
  fields:
    code:   { from: d:HoSo.d:Ma, required: true }
    name:   { from: d:HoSo.d:Ten }
    fees[]:
      each: d:HoSo.d:Phi
      fields:
        code:   { from: "@ma" }
        amount: { from: "#text", type: integer }
"""

SOAP_OUT = """\
request:
  in: json
  out: soap
  soap: { version: "1.1", action: "http://tempuri.org/ImportAndPublishInv" }
  namespaces: { t: "http://tempuri.org/" }
  root: t:ImportAndPublishInv
  fields:
    t:Account: { value: "lienthong" }
    t:xmlInvData:
      render:
        out: xml
        root: Invoices
        fields:
          Inv.key:         { from: receipt_id, required: true }
          Inv.Invoice.Buyer: { from: buyer }
          Inv.Invoice.Total: { from: total, type: integer }
    t:pattern: { value: "1/001" }
response:
  in: soap
  out: json
  namespaces: { t: "http://tempuri.org/" }
  fields:
    result: { from: t:ImportAndPublishInvResponse.t:ImportAndPublishInvResult, required: true }
"""


SOAP12_OUT = """\
request:                              # in: json by default
  out: soap
  root: m:Send
  namespaces: { m: "urn:sms" }
  soap: { version: "1.2", action: "urn:sms#Send" }
  fields:
    m:To[]: { each: to, fields: { "#text": { from: n }, "@kind": { from: k } } }
    m:Text: { from: text }
response: { in: soap, namespaces: { m: "urn:sms" }, fields: { sent: { from: m:SendResponse.m:Count, type: integer } } }
"""


SOAP_IN = """\
request:
  in: soap
  namespaces: { d: "urn:hoso" }
  fields:
    code: { from: d:NopHoSo.d:Ma, required: true }
"""


@pytest.fixture
def upstream(pki):
    srv = XmlUpstream(port=0, cert=pki["sandbox.crt"], key=pki["sandbox.key"], client_ca=pki["ca.crt"],
                      username=DVCQG_USER, password=PASSWORD, dstcode=DSTCODE).start()
    yield srv
    srv.stop()


@pytest.fixture
def xgw(gateway, upstream, tmp_path):
    (tmp_path / "xml-in.yaml").write_text(XML_IN, encoding="utf-8")
    (tmp_path / "soap-out.yaml").write_text(SOAP_OUT, encoding="utf-8")
    (tmp_path / "soap12-out.yaml").write_text(SOAP12_OUT, encoding="utf-8")
    (tmp_path / "soap-in.yaml").write_text(SOAP_IN, encoding="utf-8")
    return gateway(upstream, extra_routes={
        "test.xml_in": {"path": "/test/xml-in", "mapping": str(tmp_path / "xml-in.yaml")},
        "test.soap_out": {"path": "/test/soap-out", "mapping": str(tmp_path / "soap-out.yaml")},
        "test.soap12_out": {"path": "/test/soap12-out", "mapping": str(tmp_path / "soap12-out.yaml")},
        "test.soap_in": {"path": "/test/soap-in", "mapping": str(tmp_path / "soap-in.yaml")},
    })


def post_xml(gw, body, ctype="application/xml"):
    if isinstance(body, str):
        body = body.encode("utf-8")
    return gw.post("/test/xml-in", body, headers={"Content-Type": ctype})


def test_xml_request_mapped(xgw, upstream):
    r = post_xml(xgw, '<?xml version="1.0" encoding="UTF-8"?><x:HoSo xmlns:x="urn:hoso"><x:Ma>H26-1</x:Ma>'
                      '<x:Ten>Nguyễn Thị Hà &amp; con</x:Ten><x:Phi ma="LP01">100000</x:Phi></x:HoSo>')
    assert r.status == 200, r.text()
    sent = upstream.calls()
    assert len(sent) == 1
    # One <Phi> is a list of one; the document's prefix (x) does not matter, its namespace does.
    doc = json.loads(sent[0]["raw"])
    doc.pop("session")      # the test upstream's login puts it there
    assert doc == {"code": "H26-1", "name": "Nguyễn Thị Hà & con",
                                          "fees": [{"code": "LP01", "amount": 100000}]}


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                            for i in range(1, 10))
                  + ']><HoSo xmlns="urn:hoso"><Ma>&lol9;</Ma></HoSo>')
QUADRATIC = ('<?xml version="1.0"?><!DOCTYPE q [<!ENTITY x "' + "x" * 5000 + '">]><HoSo xmlns="urn:hoso"><Ma>'
             + "&x;" * 5000 + "</Ma></HoSo>")


@pytest.mark.parametrize("body,reason", [
    ('<?xml version="1.0"?><!DOCTYPE HoSo [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     '<HoSo xmlns="urn:hoso"><Ma>&x;</Ma></HoSo>', "a DOCTYPE is not allowed"),
    ('<?xml version="1.0"?><!DOCTYPE HoSo [<!ENTITY x SYSTEM "http://127.0.0.1:9/evil">]>'
     '<HoSo xmlns="urn:hoso"><Ma>&x;</Ma></HoSo>', "a DOCTYPE is not allowed"),
    (BILLION_LAUGHS, "a DOCTYPE is not allowed"),
    (QUADRATIC, "a DOCTYPE is not allowed"),
    ("<a>" * 10000, "elements nested deeper than 64 levels"),   # closing tags would pass max_body
    (b'<HoSo xmlns="urn:hoso"><Ma>\xff\xfe</Ma></HoSo>', "Input is not proper UTF-8"),
    ('<HoSo xmlns="urn:hoso"><Ma>1</Ma>', "Premature end of data"),
], ids=["xxe-file", "xxe-network", "billion-laughs", "quadratic-blowup", "nesting-10000", "invalid-utf8",
        "truncated"])
def test_hostile_xml_refused(xgw, upstream, body, reason):
    r = post_xml(xgw, body)
    err = assert_error(r, 400, "xml.invalid", route="test.xml_in")
    assert reason in err["message"], err
    assert err["message"].startswith("invalid XML at line "), err
    assert upstream.calls() == [], "a refused document reached the upstream"
    # And the gateway is still there for the next caller.
    assert xgw.healthz()[0] == 200


def test_big_xml_refused_by_size(xgw, upstream):
    """max_body is 64KiB in the test config: a bigger document is refused before any parsing."""
    body = b'<HoSo xmlns="urn:hoso"><Ma>' + b"x" * 100000 + b"</Ma></HoSo>"
    head = (f"POST /test/xml-in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    assert_error(xgw.raw(head + body), 413, "request.too_large", route="test.xml_in")
    assert upstream.calls() == []


def test_soap_request_and_answer(xgw, upstream):
    upstream.answer = (200, "text/xml; charset=utf-8",
                       ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="' + SOAP11 + '">'
                        '<soap:Body><ImportAndPublishInvResponse xmlns="http://tempuri.org/">'
                        '<ImportAndPublishInvResult>OK:1/001;C23TAA-R1_15</ImportAndPublishInvResult>'
                        '</ImportAndPublishInvResponse></soap:Body></soap:Envelope>').encode())
    r = xgw.post("/test/soap-out", {"receipt_id": "R1", "buyer": "Công ty A & B <HN>", "total": 1320000})
    assert r.status == 200, r.text()
    assert r.json() == {"result": "OK:1/001;C23TAA-R1_15"}
    sent = upstream.calls()[0]
    assert sent["headers"]["soapaction"] == '"http://tempuri.org/ImportAndPublishInv"'
    assert sent["headers"]["content-type"] == "text/xml; charset=utf-8"
    # The test upstream's login puts its session in the body, as a top-level element here.
    raw, n = re.subn(r"<session>[0-9a-f]{32}</session>", "", sent["raw"].decode("utf-8"))
    assert n == 1, raw
    assert raw == (
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="' + SOAP11 + '"><soap:Body>'
        '<t:ImportAndPublishInv xmlns:t="http://tempuri.org/"><t:Account>lienthong</t:Account>'
        '<t:xmlInvData><![CDATA[<Invoices><Inv><key>R1</key><Invoice><Buyer>Công ty A &amp; B &lt;HN&gt;</Buyer>'
        '<Total>1320000</Total></Invoice></Inv></Invoices>]]></t:xmlInvData><t:pattern>1/001</t:pattern>'
        '</t:ImportAndPublishInv></soap:Body></soap:Envelope>')


@pytest.mark.parametrize("status", [500, 200])
def test_soap_fault_is_502(xgw, upstream, status):
    upstream.answer = (status, "text/xml; charset=utf-8",
                       ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="' + SOAP11 + '">'
                        '<soap:Body><soap:Fault><faultcode>soap:Client</faultcode>'
                        '<faultstring>Tài khoản không hợp lệ</faultstring></soap:Fault></soap:Body>'
                        '</soap:Envelope>').encode())
    r = xgw.post("/test/soap-out", {"receipt_id": "R1", "buyer": "A", "total": 1})
    err = assert_error(r, 502, "upstream.soap_fault", route="test.soap_out")
    assert "soap:Client" in err["message"] and "Tài khoản không hợp lệ" in err["message"], err


def test_soap_answer_with_doctype_is_502(xgw, upstream):
    upstream.answer = (200, "text/xml", ('<?xml version="1.0"?><!DOCTYPE soap:Envelope [<!ENTITY x "y">]>'
                                         '<soap:Envelope xmlns:soap="' + SOAP11 + '"><soap:Body>&x;</soap:Body>'
                                         '</soap:Envelope>').encode())
    r = xgw.post("/test/soap-out", {"receipt_id": "R1", "buyer": "A", "total": 1})
    assert r.status == 502, r.text()
    assert "DOCTYPE" in r.json()["error"]["message"]


def test_soap12_request_and_answer(xgw, upstream):
    upstream.answer = (200, "application/soap+xml; charset=utf-8",
                       b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>'
                       b'<SendResponse xmlns="urn:sms"><Count>2</Count></SendResponse></e:Body></e:Envelope>')
    r = xgw.post("/test/soap12-out", {"to": [{"n": "84912345678", "k": 1}, {"n": "84987654321", "k": 2}],
                                     "text": "Ho so da co ket qua"})
    assert r.status == 200, r.text()
    assert r.json() == {"sent": 2}
    sent = upstream.calls()[0]
    assert sent["headers"]["content-type"] == 'application/soap+xml; charset=utf-8; action="urn:sms#Send"'
    assert "soapaction" not in sent["headers"]
    raw = re.sub(r"<session>[0-9a-f]{32}</session>", "", sent["raw"].decode("utf-8"))
    assert raw == ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/'
                   'soap-envelope"><soap:Body><m:Send xmlns:m="urn:sms"><m:To kind="1">84912345678</m:To>'
                   '<m:To kind="2">84987654321</m:To><m:Text>Ho so da co ket qua</m:Text></m:Send></soap:Body>'
                   '</soap:Envelope>')


SOAP_CALL = ('<?xml version="1.0"?>{doctype}<s:Envelope xmlns:s="' + SOAP11 + '"><s:Body>'
             '<NopHoSo xmlns="urn:hoso"><Ma>{code}</Ma></NopHoSo></s:Body></s:Envelope>')


def test_soap_request_read(xgw, upstream):
    r = xgw.post("/test/soap-in", SOAP_CALL.format(doctype="", code="H26-7"),
                 headers={"Content-Type": "text/xml; charset=utf-8"})
    assert r.status == 200, r.text()
    doc = json.loads(upstream.calls()[0]["raw"])
    assert doc["code"] == "H26-7"


def test_soap_request_with_doctype_refused(xgw, upstream):
    body = SOAP_CALL.format(doctype='<!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>', code="&x;")
    r = xgw.post("/test/soap-in", body, headers={"Content-Type": "text/xml; charset=utf-8"})
    err = assert_error(r, 400, "xml.invalid", route="test.soap_in")
    assert err["message"] == "invalid XML at line 1 column 43: a DOCTYPE is not allowed", err
    assert upstream.calls() == []

"""soap.py: SOAP 1.1 for the sandboxes of SOAP partners (VNPT PublishService, Viettel bulkapi):
reading a request's Body with the standard library's parser, writing an answer or a Fault the way
an ASMX / JAX-WS service does, and SoapSandbox, the partner that serves one operation at one
path. Python 3.11 standard library only."""

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from mtls import RecordingSandbox

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
CT_SOAP11 = "text/xml; charset=utf-8"


class Fault(Exception):
    """A request the service cannot read: answered with HTTP 500 and a soap:Fault."""

    def __init__(self, code, text):
        super().__init__(text)
        self.code = code
        self.text = text


def body_operation(raw):
    """The element inside soap:Body of a SOAP 1.1 request (bytes). Raises Fault(soap:Client)
    for anything else: not XML, a DOCTYPE (no service takes one), no Envelope or Body."""
    if b"<!DOCTYPE" in raw.upper():
        raise Fault("soap:Client", "DTD is prohibited in this XML document.")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as e:
        raise Fault("soap:Client", f"Server was unable to read request. ---> There is an error in XML document ({e}).")
    if root.tag != f"{{{SOAP11}}}Envelope":
        raise Fault("soap:VersionMismatch", "Possible SOAP version mismatch: Envelope namespace was unexpected.")
    body = root.find(f"{{{SOAP11}}}Body")
    if body is None or len(body) != 1:
        raise Fault("soap:Client", "Server was unable to read request: the Body must hold one operation.")
    return body[0]


def child_text(op, name, ns=None):
    """The text of op's child `name` (in namespace ns, or none), "" when empty, None when absent."""
    el = op.find(f"{{{ns}}}{name}" if ns else name)
    if el is None:
        return None
    return el.text or ""


def envelope(inner, prefix="soap"):
    """A SOAP 1.1 envelope around inner (XML text), as bytes."""
    return (f'<?xml version="1.0" encoding="utf-8"?>'
            f'<{prefix}:Envelope xmlns:{prefix}="{SOAP11}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><{prefix}:Body>{inner}</{prefix}:Body>'
            f'</{prefix}:Envelope>').encode("utf-8")


def fault(f, prefix="soap"):
    """(500, content type, bytes) for a Fault."""
    return 500, CT_SOAP11, envelope(f"<{prefix}:Fault><faultcode>{escape(f.code)}</faultcode>"
                                    f"<faultstring>{escape(f.text)}</faultstring></{prefix}:Fault>", prefix)


class SoapSandbox(RecordingSandbox):
    """A SOAP 1.1 partner serving one operation (`operation`, "{ns}Local") at `base`. Subclasses
    write _operation(handler, op_element) -> (status, content type, bytes), and may override
    _check_headers(handler) to raise a Fault. `fault` (a Fault, set by tests) answers every call
    with that fault; fault codes are written with `prefix`, the envelope prefix the service uses."""

    operation = None
    prefix = "soap"

    def _reset_locked(self):
        super()._reset_locked()
        self.fault = None

    def _check_headers(self, h):
        pass

    def _answer(self, h, path, body):
        if path != self.base or h.command != "POST":
            return 404, "text/plain; charset=utf-8", b"not found\n"
        try:
            if self.fault is not None:
                raise self.fault
            self._check_headers(h)
            op = body_operation(body)
            if op.tag != self.operation:
                raise Fault("soap:Client", f"Cannot find dispatch method for {op.tag}")
        except Fault as f:
            return fault(Fault(f.code.replace("soap:", self.prefix + ":"), f.text), self.prefix)
        return self._operation(h, op)

    def _operation(self, h, op):
        raise NotImplementedError

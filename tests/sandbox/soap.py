"""soap.py: SOAP 1.1 envelopes for the sandboxes of SOAP partners (VNPT PublishService, Viettel
bulkapi): reading a request's Body with the standard library's parser, and writing an answer or
a Fault the way an ASMX / JAX-WS service does. Python 3.11 standard library only."""

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

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

#!/usr/bin/env python3
"""vnpt_invoice.py: a simulated VNPT Invoice PublishService.asmx (FORMATS.md § 4.2, § 4.6).

Serves ImportAndPublishInv over SOAP 1.1 (namespace http://tempuri.org/, SOAPAction
"http://tempuri.org/ImportAndPublishInv"), behind mTLS like every sandbox (mtls.py). It checks
what the real service is known to check and answers in its words:
    OK:<pattern>;<serial>-<key>_<number>[,<key>_<number>...]      published
    ERR:1  wrong Account/ACpass or username/password      ERR:2  pattern or serial empty
    ERR:3  xmlInvData is not the invoice XML               ERR:6  no invoice numbers left
    ERR:13 a key (Fkey) already published
and a soap:Fault with HTTP 500 for a request it cannot read (malformed XML, a DOCTYPE, a wrong
SOAPAction). xmlInvData may be TT78 (DSHDon/HDon/key) or legacy/e-receipt (Invoices/Inv/key).

    srv = VnptInvoiceSandbox(port=0, cert=..., key=..., client_ca=..., account=..., acpass=...,
                             username=..., password=...)
    srv.start(); srv.url; srv.received; srv.published; srv.numbers_left = 0;
    srv.fault = soap.Fault("soap:Server", "..."); srv.stop()

Standalone: /usr/bin/python3 tests/sandbox/vnpt_invoice.py --port 9450 --cert C --key K \
    --client-ca CA [--account A --acpass P --username U --password W] [--verbose]
"""

import sys
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from mtls import standalone_main
from soap import CT_SOAP11, Fault, SoapSandbox, child_text, envelope

TEMPURI = "http://tempuri.org/"
ACTION = TEMPURI + "ImportAndPublishInv"
PATH = "/PublishService.asmx"


class VnptInvoiceSandbox(SoapSandbox):
    """Simulated VNPT Invoice PublishService (ImportAndPublishInv)."""

    name = "vnpt-invoice"
    base = PATH
    operation = f"{{{TEMPURI}}}ImportAndPublishInv"

    def __init__(self, account="hanoiadmin", acpass="sandbox-acpass", username="hanoiservice",
                 password="sandbox-password", **kw):
        self.account, self.acpass = account, acpass
        self.username, self.password = username, password
        super().__init__(**kw)

    def _reset_locked(self):
        super()._reset_locked()
        self.published = {}             # key -> {"number", "pattern", "serial", "xml"}
        self.numbers_left = 1000        # ERR:6 once it reaches 0
        self._next_number = 15

    def _check_headers(self, h):
        if h.headers.get("SOAPAction", "").strip('"') != ACTION:
            raise Fault("soap:Client", "Server did not recognize the value of HTTP Header SOAPAction: "
                        + h.headers.get("SOAPAction", ""))

    def _operation(self, h, op):
        result = self._publish({name: child_text(op, name, TEMPURI) for name in
                                ("Account", "ACpass", "xmlInvData", "username", "password", "pattern",
                                 "serial", "convert")})
        return 200, CT_SOAP11, envelope(f'<ImportAndPublishInvResponse xmlns="{TEMPURI}">'
                                        f'<ImportAndPublishInvResult>{escape(result)}</ImportAndPublishInvResult>'
                                        f'</ImportAndPublishInvResponse>')

    def _publish(self, a):
        if (a["Account"], a["ACpass"], a["username"], a["password"]) != (self.account, self.acpass,
                                                                          self.username, self.password):
            return "ERR:1"
        if not a["pattern"] or not a["serial"]:
            return "ERR:2"
        try:
            doc = ET.fromstring((a["xmlInvData"] or "").encode("utf-8"))
        except ET.ParseError:
            return "ERR:3"
        if doc.tag == "DSHDon":
            invoices = doc.findall("HDon")
        elif doc.tag == "Invoices":
            invoices = doc.findall("Inv")
        else:
            return "ERR:3"
        keys = [inv.findtext("key") for inv in invoices]
        if not keys or any(not k for k in keys) or len(set(keys)) != len(keys):
            return "ERR:3"
        with self._lock:
            if any(k in self.published for k in keys):
                return "ERR:13"
            if self.numbers_left < len(keys):
                return "ERR:6"
            out = []
            for k, inv in zip(keys, invoices):
                number = self._next_number
                self._next_number += 1
                self.numbers_left -= 1
                self.published[k] = {"number": number, "pattern": a["pattern"], "serial": a["serial"],
                                     "xml": ET.tostring(inv, encoding="unicode")}
                out.append(f"{k}_{number}")
        return f"OK:{a['pattern']};{a['serial']}-" + ",".join(out)


if __name__ == "__main__":
    sys.exit(standalone_main(VnptInvoiceSandbox, options=("account", "acpass", "username", "password")))

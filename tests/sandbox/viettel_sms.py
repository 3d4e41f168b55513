#!/usr/bin/env python3
"""viettel_sms.py: a simulated Viettel SMS brandname bulkapi (FORMATS.md § 5.1).

Serves wsCpMt over SOAP 1.1 (namespace http://impl.bulkSms.ws/, children unqualified) at
/bulkapi, behind mTLS (mtls.py). Answers <ns2:wsCpMtResponse><return><message>..</message>
<result>..</result></return> as the real service does:
    result 1, "Insert MT_QUEUE: OK"                    accepted
    result 0, "Authenticate: fail"                     wrong User/Password/CPCode (INFERRED wording)
    result 0, "Check MSISDN: ..."                      ReceiverID not 84 + 9 or 10 digits (INFERRED)
    result 0, "Check template: CONTENT_NOT_MATCH_TEMPL"  content with a character outside ASCII
                                                       (ContentType 0), or matching no template
and a soap:Fault (HTTP 500) for a request it cannot read. Templates are regular expressions, as a
brandname's registered templates are patterns with variable parts.

    srv = ViettelSmsSandbox(port=0, cert=..., key=..., client_ca=..., user=..., password=...,
                            cpcode=..., brandname=..., templates=[r"Ho so \\S+ da co ket qua\\..*"])
Standalone: /usr/bin/python3 tests/sandbox/viettel_sms.py --port 9452 --cert C --key K --client-ca CA
"""

import re
import sys
from xml.sax.saxutils import escape

from mtls import standalone_main
from soap import CT_SOAP11, SoapSandbox, child_text, envelope

NS = "http://impl.bulkSms.ws/"
PATH = "/bulkapi"
MSISDN_RE = re.compile(r"84[0-9]{9,10}")
DEFAULT_TEMPLATES = (r"Ho so \S+ da co ket qua\. .*", r"Ho so \S+ can bo sung .*", r"Ma xac thuc .*")


def _result(result, message):
    return 200, CT_SOAP11, envelope(f'<ns2:wsCpMtResponse xmlns:ns2="{NS}"><return><message>{escape(message)}'
                                    f'</message><result>{result}</result></return></ns2:wsCpMtResponse>', "S")


class ViettelSmsSandbox(SoapSandbox):
    """Simulated Viettel SMS brandname bulkapi (wsCpMt)."""

    name = "viettel-sms"
    base = PATH
    operation = f"{{{NS}}}wsCpMt"
    prefix = "S"

    def __init__(self, user="smsbrand_hanoi", password="sandbox-password", cpcode="HANOI_CP",
                 brandname="UBND HA NOI", templates=DEFAULT_TEMPLATES, **kw):
        self.user, self.password, self.cpcode, self.brandname = user, password, cpcode, brandname
        self.templates = [re.compile(t, re.S) for t in templates]
        super().__init__(**kw)

    def _reset_locked(self):
        super()._reset_locked()
        self.sent = []                  # the accepted messages: {"to", "content", "request_id"}

    def _operation(self, h, op):
        a = {k: child_text(op, k) for k in ("User", "Password", "CPCode", "RequestID", "UserID", "ReceiverID",
                                            "ServiceID", "CommandCode", "Content", "ContentType")}
        if (a["User"], a["Password"], a["CPCode"]) != (self.user, self.password, self.cpcode):
            return _result(0, "Authenticate: fail")
        if a["ServiceID"] != self.brandname:
            return _result(0, "Check alias: ALIAS_NOT_EXIST")
        for k in ("UserID", "ReceiverID"):
            if not MSISDN_RE.fullmatch(a[k] or ""):
                return _result(0, f"Check MSISDN: {k} must be 84 and 9 or 10 digits")
        content = a["Content"] or ""
        if a["ContentType"] == "0" and not content.isascii():
            return _result(0, "Check template: CONTENT_NOT_MATCH_TEMPL (content is not plain ASCII)")
        if not any(t.fullmatch(content) for t in self.templates):
            return _result(0, "Check template: CONTENT_NOT_MATCH_TEMPL")
        with self._lock:
            self.sent.append({"to": a["ReceiverID"], "content": content, "request_id": a["RequestID"]})
        return _result(1, "Insert MT_QUEUE: OK")


if __name__ == "__main__":
    sys.exit(standalone_main(ViettelSmsSandbox, options=("user", "password", "cpcode", "brandname")))

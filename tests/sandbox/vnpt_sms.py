#!/usr/bin/env python3
"""vnpt_sms.py: a simulated VNPT/Vinaphone SMS brandname API, RQST/RPLY JSON (FORMATS.md § 5.2).

    POST /smsmarketing/api {"RQST":{"name":"send_sms_list",...}}
      -> {"RPLY":{"name":"send_sms_list","ERROR":"0","ERROR_DESC":"success"}}
ERROR "0" is success (seen in real code); the other codes are INFERRED (VNPT's catalogue is not
public), distinct so that tests can tell them apart:
    "1" wrong APIUSER/APIPASS/USERNAME        "2" unknown name
    "3" a MOBILELIST number not 84 + 9-10 digits   "4" TEMPLATEID not registered
    "5" PARAMS do not fill the template (count, NUM 1..n in order, empty CONTENT)
    "6" a REQID already used                  "7" a mandatory field missing
Templates: TEMPLATEID -> number of parameters.

    srv = VnptSmsSandbox(port=0, cert=..., key=..., client_ca=..., apiuser=..., apipass=...)
Standalone: /usr/bin/python3 tests/sandbox/vnpt_sms.py --port 9453 --cert C --key K --client-ca CA
"""

import json
import re
import sys

from mtls import RecordingSandbox, standalone_main

PATH = "/smsmarketing/api"
MSISDN_RE = re.compile(r"84[0-9]{9,10}")
CT_JSON = "application/json; charset=utf-8"
MANDATORY = ("REQID", "LABELID", "CONTRACTTYPEID", "CONTRACTID", "TEMPLATEID", "PARAMS", "MOBILELIST",
             "ISTELCOSUB", "AGENTID", "APIUSER", "APIPASS", "USERNAME", "DATACODING")
DESCRIPTIONS = {"0": "success", "1": "Sai thông tin xác thực", "2": "Sai tên lệnh",
                "3": "Số điện thoại không hợp lệ", "4": "Template không tồn tại",
                "5": "Tham số không khớp template", "6": "REQID đã tồn tại", "7": "Thiếu trường bắt buộc"}


class VnptSmsSandbox(RecordingSandbox):
    """Simulated VNPT SMS brandname (RQST send_sms_list)."""

    name = "vnpt-sms"
    base = PATH

    def __init__(self, apiuser="hanoi_api", apipass="sandbox-password", username="hanoi_portal",
                 templates=None, **kw):
        self.apiuser, self.apipass, self.username = apiuser, apipass, username
        self.templates = dict(templates or {"685234": 1, "685235": 2})
        super().__init__(**kw)

    def _reset_locked(self):
        super()._reset_locked()
        self.sent = []                  # accepted requests: the RQST objects

    def _answer(self, h, path, body):
        if path != PATH or h.command != "POST":
            return 404, "text/plain; charset=utf-8", b"not found\n"
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            doc = None
        rq = doc.get("RQST") if isinstance(doc, dict) else None
        code = self._check(rq) if isinstance(rq, dict) else "7"
        if code == "0":
            with self._lock:
                if any(s["REQID"] == rq["REQID"] for s in self.sent):
                    code = "6"
                else:
                    self.sent.append(rq)
        name = rq.get("name") if isinstance(rq, dict) else None
        data = json.dumps({"RPLY": {"name": name, "ERROR": code, "ERROR_DESC": DESCRIPTIONS[code]}},
                          ensure_ascii=False).encode("utf-8")
        return 200, CT_JSON, data

    def _check(self, rq):
        if rq.get("name") != "send_sms_list":
            return "2"
        if any(not isinstance(rq.get(k), (str, list)) or rq.get(k) == "" for k in MANDATORY):
            return "7"
        if (rq["APIUSER"], rq["APIPASS"], rq["USERNAME"]) != (self.apiuser, self.apipass, self.username):
            return "1"
        if not all(MSISDN_RE.fullmatch(n) for n in rq["MOBILELIST"].split(",")):
            return "3"
        if rq["TEMPLATEID"] not in self.templates:
            return "4"
        params = rq["PARAMS"]
        if (not isinstance(params, list) or len(params) != self.templates[rq["TEMPLATEID"]]
                or any(not isinstance(p, dict) or p.get("NUM") != str(i) or not p.get("CONTENT")
                       for i, p in enumerate(params, 1))):
            return "5"
        return "0"


if __name__ == "__main__":
    sys.exit(standalone_main(VnptSmsSandbox, options=("apiuser", "apipass", "username")))

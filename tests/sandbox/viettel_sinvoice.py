#!/usr/bin/env python3
"""viettel_sinvoice.py: a simulated Viettel S-Invoice REST API (FORMATS.md § 4.3).

    POST /auth/login {"username","password"}      -> {"access_token","token_type","expires_in"}
                                                     (401 {"error","error_description"} when wrong)
    POST /services/einvoiceapplication/api/InvoiceAPI/InvoiceWS/createInvoice/{supplierTaxCode}
         Authorization: Bearer <token>            -> {"errorCode":null,"description":null,
                                                      "result":{supplierTaxCode, invoiceNo, ...}}
A missing or unknown token is HTTP 401 (the gateway logs in again). Business errors are HTTP 200
with an errorCode, as the real API answers them; their names are INFERRED (public code shows the
field, not the catalogue): INVALID_DATA (a field fails the checks below), DUPLICATE_TRANSACTION_UUID
(a transactionUuid already used), SUPPLIER_MISMATCH (the path's tax code is not the account's).
Checked: invoiceIssuedDate is epoch milliseconds (an integer), templateCode, invoiceSeries,
currencyCode and transactionUuid are non-empty strings, buyerName is present, itemInfo is a
non-empty list with numeric amounts, summarizeInfo totals are integers and
totalAmountWithTax = totalAmountWithoutTax + totalTaxAmount.

    srv = ViettelSinvoiceSandbox(port=0, cert=..., key=..., client_ca=..., username=..., password=...)
Standalone: /usr/bin/python3 tests/sandbox/viettel_sinvoice.py --port 9451 --cert C --key K --client-ca CA
"""

import json
import secrets
import sys

from mtls import RecordingSandbox, standalone_main

LOGIN = "/auth/login"
CREATE = "/services/einvoiceapplication/api/InvoiceAPI/InvoiceWS/createInvoice/"
CT_JSON = "application/json; charset=utf-8"


def _json(status, obj):
    return status, CT_JSON, json.dumps(obj, ensure_ascii=False).encode("utf-8")


def _error(code, description):
    return _json(200, {"errorCode": code, "description": description, "result": None})


class Invalid(Exception):
    pass


def _need(cond, what):
    if not cond:
        raise Invalid(what)


def _check_invoice(doc):
    g = doc.get("generalInvoiceInfo")
    _need(isinstance(g, dict), "generalInvoiceInfo is required")
    for k in ("invoiceType", "templateCode", "invoiceSeries", "currencyCode", "transactionUuid"):
        _need(isinstance(g.get(k), str) and g[k] != "", f"generalInvoiceInfo.{k} is required")
    d = g.get("invoiceIssuedDate")
    _need(isinstance(d, int) and not isinstance(d, bool) and d > 10**12,
          "generalInvoiceInfo.invoiceIssuedDate must be epoch milliseconds")
    b = doc.get("buyerInfo")
    _need(isinstance(b, dict) and isinstance(b.get("buyerName"), str) and b["buyerName"],
          "buyerInfo.buyerName is required")
    items = doc.get("itemInfo")
    _need(isinstance(items, list) and items, "itemInfo must be a non-empty list")
    for i, it in enumerate(items):
        for k in ("lineNumber", "unitPrice", "quantity", "itemTotalAmountWithoutTax"):
            _need(isinstance(it.get(k), (int, float)) and not isinstance(it.get(k), bool),
                  f"itemInfo[{i}].{k} must be a number")
        _need(isinstance(it.get("itemName"), str) and it["itemName"], f"itemInfo[{i}].itemName is required")
    s = doc.get("summarizeInfo")
    _need(isinstance(s, dict), "summarizeInfo is required")
    for k in ("totalAmountWithoutTax", "totalTaxAmount", "totalAmountWithTax"):
        _need(isinstance(s.get(k), int) and not isinstance(s.get(k), bool), f"summarizeInfo.{k} must be an integer")
    _need(s["totalAmountWithTax"] == s["totalAmountWithoutTax"] + s["totalTaxAmount"],
          "summarizeInfo.totalAmountWithTax is not totalAmountWithoutTax + totalTaxAmount")
    return g


class ViettelSinvoiceSandbox(RecordingSandbox):
    """Simulated Viettel S-Invoice (login, createInvoice)."""

    name = "viettel-sinvoice"

    def __init__(self, username="0100109106-509", password="sandbox-password", **kw):
        self.username, self.password = username, password
        self.supplier = username.split("-", 1)[0]
        super().__init__(**kw)

    def _reset_locked(self):
        super()._reset_locked()
        self.tokens = []                # every token issued, oldest first
        self._valid = set()
        self.invoices = {}              # transactionUuid -> the invoice document
        self._next_number = 15

    def expire_tokens(self):
        """Forgets every token issued so far: the next call gets 401."""
        with self._lock:
            self._valid.clear()

    def _answer(self, h, path, body):
        if h.command != "POST":
            return _json(405, {"error": "method_not_allowed"})
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _json(400, {"errorCode": "BAD_REQUEST", "description": "body is not JSON", "result": None})
        if not isinstance(doc, dict):
            return _json(400, {"errorCode": "BAD_REQUEST", "description": "body is not an object", "result": None})
        if path == LOGIN:
            if doc.get("username") != self.username or doc.get("password") != self.password:
                return _json(401, {"error": "invalid_grant", "error_description": "Bad credentials"})
            token = secrets.token_hex(16)
            with self._lock:
                self.tokens.append(token)
                self._valid.add(token)
            return _json(200, {"access_token": token, "token_type": "bearer", "expires_in": 599})
        if not path.startswith(CREATE):
            return _json(404, {"error": "not_found", "error_description": path})
        auth = h.headers.get("Authorization", "")
        with self._lock:
            ok = auth.startswith("Bearer ") and auth[7:] in self._valid
        if not ok:
            return _json(401, {"error": "invalid_token", "error_description": "Access token expired"})
        if path[len(CREATE):] != self.supplier:
            return _error("SUPPLIER_MISMATCH", "Mã số thuế người bán không khớp tài khoản")
        try:
            g = _check_invoice(doc)
        except Invalid as e:
            return _error("INVALID_DATA", str(e))
        with self._lock:
            if g["transactionUuid"] in self.invoices:
                return _error("DUPLICATE_TRANSACTION_UUID", "transactionUuid đã tồn tại")
            number = self._next_number
            self._next_number += 1
            self.invoices[g["transactionUuid"]] = doc
        return _json(200, {"errorCode": None, "description": None, "result": {
            "supplierTaxCode": self.supplier, "invoiceNo": f"{g['invoiceSeries']}{number}",
            "transactionID": f"{number:016d}", "reservationCode": f"SBX{number:07d}", "codeOfTax": ""}})


if __name__ == "__main__":
    sys.exit(standalone_main(ViettelSinvoiceSandbox, options=("username", "password")))

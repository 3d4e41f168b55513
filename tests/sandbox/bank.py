#!/usr/bin/env python3
"""bank.py: a simulated bank / payment platform that calls the gateway BACK with signed callbacks.

This module owns the other side of the payment callbacks of FORMATS.md: it builds each dialect's
callback, signs it exactly as the provider's own sample code does, sends it over mutual TLS with a
client certificate (certs/gen.sh: bank.crt CN=vnpay-ipn, momo.crt CN=momo-ipn, keypay.crt
CN=keypay-ipn), reads the merchant's answer in the dialect's terms, and sends the same callback
again, with growing gaps, until the answer is the dialect's success code or the attempts run out,
as the real platforms do (their exact schedules are not public: the defaults are INFERRED and every
number is configurable, so tests run in milliseconds).

    dialect  transport                          signature                                  acked when
    vnpay    GET, vnp_* fields in the query     HMAC-SHA512, sorted-query (§3.1)           200 + RspCode 00 or 02
    momo     POST application/json              HMAC-SHA256, pairs with accessKey (§3.2)   204
    keypay   POST application/json              HMAC-SHA256, join by '|' (§2.9)            200 + return_code 0

The canonical strings here are written independently of adapters/sign.c (Python standard library
only) and are tested against the same FORMATS.md vectors, so the two sides are proven to agree.

In-process use (tests):
    bank = Bank("127.0.0.1", port, pki.client_context("bank"), attempts=4, first_gap=0.05)
    vnpay = Vnpay(secret="...")
    result = bank.send(vnpay, vnpay.ipn("HS250115000123", 120000), "/callbacks/vnpay/ipn")
    result.acked; result.attempts; bank.sent

Standalone (demo):
    /usr/bin/python3 tests/sandbox/bank.py --url https://127.0.0.1:8443/callbacks/vnpay/ipn \\
        --cert certs/dev/bank.crt --key certs/dev/bank.key --ca certs/dev/ca.crt \\
        --dialect vnpay --secret "$VNPAY_HASH_SECRET" --order HS250115000123 --amount 120000

Python 3.11 standard library only.
"""

import argparse
import hashlib
import hmac
import http.client
import json
import ssl
import sys
import threading
import time
import urllib.parse

TIMEOUT = 15.0          # seconds one attempt may take (MoMo's own limit for an IPN answer)

# ---- canonical strings (SPEC.md § Config `canonical:`, adapters/sign.h) ---------------------------

_PHP_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def php_urlencode(text):
    """PHP's urlencode: A-Za-z0-9-_. kept, space as '+', every other UTF-8 byte as %XX (upper
    case). Python's quote_plus keeps '~', which PHP encodes: VNPAY signs PHP's bytes."""
    out = []
    for b in str(text).encode("utf-8"):
        if b in _PHP_SAFE:
            out.append(chr(b))
        elif b == 0x20:
            out.append("+")
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def _text(value):
    """A field's text as the signer writes it: JSON integers in decimal, booleans as JSON does."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, float):
        raise ValueError("a real number has no one text to sign")
    return str(value)


def sorted_query(fields, prefix="", exclude=()):
    """VNPAY 2.1.0: non-empty fields with the prefix, minus exclude, sorted by name (byte order),
    urlencode(name)=urlencode(value) joined by '&'."""
    names = sorted((k for k in fields if k.startswith(prefix) and k not in exclude
                    and _text(fields[k]) != ""), key=lambda k: k.encode("utf-8"))
    return "&".join(f"{php_urlencode(k)}={php_urlencode(_text(fields[k]))}" for k in names)


def pairs(fields, names):
    """MoMo: name=value for each name, in that order, joined by '&', not encoded."""
    return "&".join(f"{k}={_text(fields[k])}" for k in names)


def join(fields, names, separator="|"):
    """KeyPay / DVCQG payment platform: the values in that order, joined by the separator."""
    return separator.join(_text(fields[k]) for k in names)


def hmac_hex(algorithm, key, message):
    """Lower-case hex HMAC; algorithm is md5, sha1, sha256 or sha512."""
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), getattr(hashlib, algorithm)).hexdigest()


# ---- the dialects ------------------------------------------------------------------------------

def json_post(signed, path):
    """(method, target, body, headers) of a JSON callback (MoMo, KeyPay)."""
    body = json.dumps(signed, ensure_ascii=False).encode("utf-8")
    return "POST", path, body, {"Content-Type": "application/json"}


def answer_member(status, body, name):
    """Member `name` of a 200 JSON object answer, else None."""
    try:
        return json.loads(body).get(name) if status == 200 else None
    except (ValueError, AttributeError):
        return None


class Dialect:
    """What the dialects share: an HMAC over canonical(fields) (each dialect's own), written into
    the `signature` field; `exclude` fields are dropped before signing."""
    name = signature = algorithm = None
    exclude = ()
    request = staticmethod(json_post)

    def __init__(self, key):
        self.key = key

    def canonical(self, fields):
        raise NotImplementedError

    def sign(self, fields):
        """A copy of fields with the signature field (re)computed and placed last."""
        out = {k: v for k, v in fields.items() if k != self.signature and k not in self.exclude}
        out[self.signature] = hmac_hex(self.algorithm, self.key, self.canonical(out))
        return out


class Vnpay(Dialect):
    """VNPAY IPN (FORMATS.md §3.1): a GET whose query string carries the vnp_* fields and
    vnp_SecureHash = HMAC-SHA512(HashSecret, sorted-query)."""
    name = "vnpay"
    signature = "vnp_SecureHash"
    algorithm = "sha512"
    exclude = ("vnp_SecureHash", "vnp_SecureHashType")

    def __init__(self, secret, tmn_code="DEMOV210"):
        super().__init__(secret)
        self.tmn_code = tmn_code

    def ipn(self, txn_ref, amount_vnd, paid=True, order_info=None, transaction_no="14226112",
            pay_date="20250115103012", bank_code="NCB"):
        """An IPN's fields (unsigned), in the order VNPAY writes them. amount_vnd is in đồng: the
        wire carries it x 100. A payment that did not go through has code 24 (cancelled)."""
        return {"vnp_Amount": str(amount_vnd * 100), "vnp_BankCode": bank_code,
                "vnp_BankTranNo": "VNP" + transaction_no, "vnp_CardType": "ATM",
                "vnp_OrderInfo": order_info or f"Thanh toan le phi ho so {txn_ref}",
                "vnp_PayDate": pay_date, "vnp_ResponseCode": "00" if paid else "24",
                "vnp_TmnCode": self.tmn_code, "vnp_TransactionNo": transaction_no if paid else "0",
                "vnp_TransactionStatus": "00" if paid else "02", "vnp_TxnRef": txn_ref}

    def canonical(self, fields):
        return sorted_query(fields, "vnp_", self.exclude)

    @staticmethod
    def request(signed, path):
        query = "&".join(f"{php_urlencode(k)}={php_urlencode(v)}" for k, v in signed.items())
        return "GET", f"{path}?{query}", None, {}

    @staticmethod
    def acked(status, body):
        """'ok' / 'duplicate' when VNPAY stops resending, else None."""
        return {"00": "ok", "02": "duplicate"}.get(answer_member(status, body, "RspCode"))


class Momo(Dialect):
    """MoMo AIO v2 IPN (FORMATS.md §3.2): a JSON POST with signature = HMAC-SHA256(secretKey,
    pairs) where accessKey (the merchant's, not in the body) leads the signed string."""
    name = "momo"
    signature = "signature"
    algorithm = "sha256"
    SIGNED = ("accessKey", "amount", "extraData", "message", "orderId", "orderInfo", "orderType",
              "partnerCode", "payType", "requestId", "responseTime", "resultCode", "transId")

    def __init__(self, secret_key, access_key, partner_code="MOMO"):
        super().__init__(secret_key)
        self.access_key = access_key
        self.partner_code = partner_code

    def ipn(self, order_id, amount, paid=True, order_info="Le phi ho so", trans_id=4088878653,
            response_time=1736911812345):
        return {"partnerCode": self.partner_code, "orderId": order_id, "requestId": order_id,
                "amount": amount, "orderInfo": order_info, "orderType": "momo_wallet",
                "transId": trans_id, "resultCode": 0 if paid else 1006,
                "message": "Thành công." if paid else "Giao dịch bị từ chối bởi người dùng.",
                "payType": "qr", "responseTime": response_time, "extraData": ""}

    def canonical(self, fields):
        return pairs(dict(fields, accessKey=self.access_key), self.SIGNED)

    @staticmethod
    def acked(status, body):
        return "ok" if status == 204 else None


class Keypay(Dialect):
    """The DVCQG payment platform's confirmation (KeyPay, FORMATS.md §2.9): a JSON POST with
    check_sum = HMAC-SHA256(hash_key_2, addition_fee|client_id|command|trans_amount|transaction_id|version)."""
    name = "keypay"
    signature = "check_sum"
    algorithm = "sha256"
    SIGNED = ("addition_fee", "client_id", "command", "trans_amount", "transaction_id", "version")

    def __init__(self, hash_key, client_id="CLIENT01"):
        super().__init__(hash_key)
        self.client_id = client_id

    def confirm(self, transaction_id, amount, paid=True, transaction_code="KP250115000001",
                description="Nộp lệ phí hồ sơ"):
        return {"client_id": self.client_id, "transaction_id": transaction_id,
                "transaction_code": transaction_code, "trans_amount": str(amount), "payment_fee": "0",
                "command": "PAY", "addition_fee": "0", "version": "3.0", "description": description,
                "locale": "vn", "country_code": "vi", "currency_code": "VND", "environment": "1",
                "status": "0" if paid else "1"}

    def canonical(self, fields):
        return join(fields, self.SIGNED)

    @staticmethod
    def acked(status, body):
        code = answer_member(status, body, "return_code")
        return "ok" if code == 0 and not isinstance(code, bool) else None


# ---- sending -------------------------------------------------------------------------------------

class Result:
    """One callback's fate: acked ('ok', 'duplicate' or None), and every attempt made."""

    def __init__(self, dialect, fields):
        self.dialect = dialect
        self.fields = fields            # as signed and sent
        self.attempts = []              # dicts: n, time, status, body (bytes), error (str or None)
        self.acked = None

    @property
    def statuses(self):
        return [a["status"] for a in self.attempts]

    def __repr__(self):
        return f"<{self.dialect} callback acked={self.acked} statuses={self.statuses}>"


class Bank:
    """Sends signed callbacks to one gateway over mTLS and resends until acknowledged.
    Thread-safe: many threads may send at once (each attempt uses its own connection)."""

    def __init__(self, host, port, context, attempts=5, first_gap=1.0, factor=2.0, max_gap=60.0,
                 timeout=TIMEOUT, printer=None):
        if attempts < 1 or first_gap < 0 or factor < 1:
            raise ValueError("attempts >= 1, first_gap >= 0 and factor >= 1")
        self.host, self.port, self.context = host, port, context
        self.attempts, self.first_gap, self.factor, self.max_gap = attempts, first_gap, factor, max_gap
        self.timeout = timeout
        self._printer = printer
        self._lock = threading.Lock()
        self._sent = []
        self._stopping = threading.Event()

    @property
    def sent(self):
        """Every attempt of every callback, in the order made (a copy): dicts with dialect, method,
        target, n, time, status, body, error."""
        with self._lock:
            return [dict(a) for a in self._sent]

    def gaps(self):
        """The waits between attempts: first_gap, then times factor, at most max_gap."""
        return [min(self.first_gap * self.factor ** i, self.max_gap) for i in range(self.attempts - 1)]

    def stop(self):
        """Ends every wait between attempts at once (no further attempts are made)."""
        self._stopping.set()

    def send(self, dialect, fields, path, sign=True):
        """Signs fields (unless sign is False: they are sent as given, e.g. a forgery) and sends
        them until the answer is the dialect's success or the attempts run out. Returns a Result."""
        signed = dialect.sign(fields) if sign else dict(fields)
        method, target, body, headers = dialect.request(signed, path)
        result = Result(dialect.name, signed)
        gaps = self.gaps()
        for n in range(1, self.attempts + 1):
            attempt = self._attempt(method, target, body, headers)
            attempt.update(n=n, dialect=dialect.name, method=method, target=target)
            with self._lock:
                self._sent.append(attempt)
            result.attempts.append(attempt)
            if attempt["status"] is not None:
                result.acked = dialect.acked(attempt["status"], attempt["body"])
            self._print(f"{dialect.name} {method} {path} attempt {n}: "
                        f"{attempt['status'] or attempt['error']} -> {result.acked or 'not acked'}")
            if result.acked or n == self.attempts or self._stopping.wait(gaps[n - 1]):
                break
        return result

    def _attempt(self, method, target, body, headers):
        conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.context)
        out = {"time": time.monotonic(), "status": None, "body": b"", "error": None}
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            out["status"], out["body"] = resp.status, resp.read()
        except (OSError, http.client.HTTPException, ssl.SSLError) as e:
            out["error"] = f"{type(e).__name__}: {e}"
        finally:
            conn.close()
        return out

    def _print(self, line):
        if self._printer is not None:
            self._printer(time.strftime("%H:%M:%S ") + line)


def main(argv=None):
    p = argparse.ArgumentParser(description="Send one signed payment callback to the gateway, "
                                            "resending until it is acknowledged.")
    p.add_argument("--url", required=True, help="https://HOST:PORT/PATH of the callback route")
    p.add_argument("--cert", required=True, help="the bank's client certificate (PEM)")
    p.add_argument("--key", required=True, help="its key (PEM)")
    p.add_argument("--ca", required=True, help="the CA of the gateway's certificate")
    p.add_argument("--dialect", choices=("vnpay", "momo", "keypay"), required=True)
    p.add_argument("--secret", required=True, help="VNPAY HashSecret, MoMo secretKey or KeyPay hash_key_2")
    p.add_argument("--access-key", default="F8BBA842ECF85", help="MoMo accessKey")
    p.add_argument("--order", required=True, help="the order reference (vnp_TxnRef, orderId, transaction_id)")
    p.add_argument("--amount", type=int, required=True, help="VND")
    p.add_argument("--failed", action="store_true", help="a payment that did not go through")
    p.add_argument("--attempts", type=int, default=5)
    p.add_argument("--first-gap", type=float, default=1.0, help="seconds before the second attempt")
    args = p.parse_args(argv)

    url = urllib.parse.urlsplit(args.url)
    ctx = ssl.create_default_context(cafile=args.ca)
    ctx.load_cert_chain(args.cert, args.key)
    bank = Bank(url.hostname, url.port or 443, ctx, attempts=args.attempts, first_gap=args.first_gap,
                printer=lambda line: print(line, flush=True))
    if args.dialect == "vnpay":
        d = Vnpay(args.secret)
        fields = d.ipn(args.order, args.amount, paid=not args.failed)
    elif args.dialect == "momo":
        d = Momo(args.secret, args.access_key)
        fields = d.ipn(args.order, args.amount, paid=not args.failed)
    else:
        d = Keypay(args.secret)
        fields = d.confirm(args.order, args.amount, paid=not args.failed)
    result = bank.send(d, fields, url.path or "/")
    last = result.attempts[-1]
    print(f"{'acknowledged (' + result.acked + ')' if result.acked else 'NOT acknowledged'} after "
          f"{len(result.attempts)} attempt(s); last answer: {last['status'] or last['error']} "
          f"{last['body'].decode('utf-8', 'replace')}", flush=True)
    return 0 if result.acked else 1


if __name__ == "__main__":
    sys.exit(main())

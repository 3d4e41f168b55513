#!/usr/bin/env python3
"""dvcqg.py: a simulated DVCQG adapter (Cổng Dịch vụ công quốc gia, FORMATS.md §2).

This module owns the sandbox national portal that the e2e tests and `make demo` talk to
through the gateway. It listens with mtls.py's machinery (HTTPS demanding a client certificate
from the client CA, so every test that reaches it proves that the gateway presented its own
certificate). It checks
what the real adapter is known to check: the dstcode header, the login session, madonvi, and
per service the mandatory fields, all-string values and date formats. It remembers every
request, rejected ones included, with the peer certificate's CN. Tests can make it slow,
failing, forgetful about sessions, or rude (see DvcqgSandbox.control).

In-process use (tests):
    srv = DvcqgSandbox(port=0, cert=..., key=..., client_ca=..., username=..., password=...)
    srv.start(); srv.port; srv.received; srv.control(delay_ms=4000); srv.stop()

Standalone (demo):
    /usr/bin/python3 tests/sandbox/dvcqg.py --port 9443 --cert C --key K --client-ca CA \
        --username U --password P [--verbose]

Endpoints under /adapter (the gateway's upstream url is https://HOST:PORT/adapter):
    POST /adapter/auth   {"username","password"}              -> {"error_code","message","session"}
    POST /adapter        {"session","madonvi","service",...}  -> {"error_code","message"[,"result"]}
Control (same TLS listener, any certificate from the client CA):
    POST /__sandbox/control  {"delay_ms":..,"fail_status":..,...}   same keys as control()
    GET  /__sandbox/received                                        the recorded requests
    POST /__sandbox/reset

Python 3.11 standard library only.
"""

import argparse
import json
import re
import secrets
import sys
import time

from mtls import MtlsSandbox, say, serve_until_signal

BASE = "/adapter"
AUTH_PATH = BASE + "/auth"
CONTROL_PREFIX = "/__sandbox/"
IDLE_CLOSE = 0.1         # close_after_answer: seconds a connection may stay idle

# Answer codes. "0" (success) and "-1" (login refused, session refused) are seen in real
# integration code (FORMATS.md §2.2, §2.3). The others are INFERRED: the real adapter's codes
# for bad data and unknown services are not public, so the sandbox picks distinct ones.
E_OK = "0"
E_AUTH = "-1"
E_REQUEST = "1"         # INFERRED: the HTTP request itself is unusable
E_INVALID = "2"         # INFERRED: a field fails validation
E_SERVICE = "3"         # INFERRED: unknown service

MSG_LOGIN_OK = "Thành công"
MSG_LOGIN_BAD = "Sai tên đăng nhập hoặc mật khẩu"
MSG_SESSION_BAD = "Session không hợp lệ hoặc đã hết hạn"
MSG_SYNC_OK = "Đồng bộ thành công"
MSG_PROGRESS_OK = "Cập nhật tiến độ thành công"
MSG_FOUND = "Tìm thấy hồ sơ"
MSG_NOT_FOUND = "Không tìm thấy hồ sơ"
MSG_SERVICE_BAD = "Dịch vụ không tồn tại"
MSG_INVALID = "Dữ liệu không hợp lệ: "

MADONVI_RE = re.compile(r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}")
# FORMATS.md §7.2; a longer sequence is allowed, as it advises.
MAHOSO_RE = re.compile(r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}-[0-9]{6}-[0-9]{4,}")
STATUSES = {str(i) for i in range(1, 11)}       # FORMATS.md §2.6

# FORMATS.md §2.4: mandatory per OpenCPS; the date fields among them are yyyyMMddHHmmss.
SYNC_REQUIRED = ("MaHoSo", "MaTTHC", "TenTTHC", "MaLinhVuc", "TenLinhVuc", "LoaiDoiTuong", "Email",
                 "SoDienThoai", "TrichYeuHoSo", "NgayTiepNhan", "NgayHenTra", "TrangThaiHoSo",
                 "HinhThuc", "DonViXuLy")
SYNC_DATES = ("NgayTiepNhan", "NgayHenTra")
SYNC_OPTIONAL_DATES = ("NgayTra", "NgayKetThucXuLy")
# FORMATS.md §2.5.
PROGRESS_REQUIRED = ("MaHoSo", "NguoiXuLy", "ThoiDiemXuLy", "NoiDungXuLy", "TrangThai")
PROGRESS_DATES = ("ThoiDiemXuLy",)
PROGRESS_OPTIONAL_DATES = ("NgayBatDau", "NgayKetThucTheoQuyDinh")

CONTROL_KEYS = ("delay_ms", "fail_status", "fail_times", "expire_sessions", "reject_login",
                "close_connection", "close_after_answer")


class Invalid(Exception):
    """A field of a service call fails validation; str() is '<field> <problem>'."""


def _require_str(item, name, where, nonempty):
    if name not in item:
        raise Invalid(f"{where}.{name} là bắt buộc")
    value = item[name]
    if not isinstance(value, str):
        raise Invalid(f"{where}.{name} phải là chuỗi")
    if nonempty and value == "":
        raise Invalid(f"{where}.{name} là bắt buộc")
    return value


def _check_date(value, field):
    """yyyyMMddHHmmss, and a real calendar time."""
    if len(value) == 14 and value.isascii() and value.isdigit():
        try:
            time.strptime(value, "%Y%m%d%H%M%S")
            return
        except ValueError:
            pass
    raise Invalid(f"{field} phải có dạng yyyyMMddHHmmss")


def _strings_only(value, where):
    """Every scalar the portal receives is a string (FORMATS.md §2.4); lists hold objects."""
    if isinstance(value, str):
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _strings_only(v, f"{where}.{k}")
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            if not isinstance(v, dict):
                raise Invalid(f"{where}[{i}] phải là object")
            _strings_only(v, f"{where}[{i}]")
        return
    raise Invalid(f"{where} phải là chuỗi")


def _check_items(body, required, dates, optional_dates, status_field, extra=None):
    """The data[] array shared by DongBoHoSoMC and CapNhatTienDoHoSoMC."""
    data = body.get("data")
    if not isinstance(data, list) or not data:
        raise Invalid("data phải là mảng không rỗng")
    for i, item in enumerate(data):
        where = f"data[{i}]"
        if not isinstance(item, dict):
            raise Invalid(f"{where} phải là object")
        for name in required:
            _require_str(item, name, where, nonempty=True)
        for k, v in item.items():
            _strings_only(v, f"{where}.{k}")
        if not MAHOSO_RE.fullmatch(item["MaHoSo"]):
            raise Invalid(f"{where}.MaHoSo không đúng định dạng")
        for name in dates:
            _check_date(item[name], f"{where}.{name}")
        for name in optional_dates:
            if item.get(name, ""):
                _check_date(item[name], f"{where}.{name}")
        if item[status_field] not in STATUSES:
            raise Invalid(f"{where}.{status_field} phải từ 1 đến 10")
        if extra:
            extra(item, where)
    return data


def _check_sync_item(item, where):
    if item["LoaiDoiTuong"] not in ("1", "2"):
        raise Invalid(f"{where}.LoaiDoiTuong phải là \"1\" hoặc \"2\"")


class DvcqgSandbox(MtlsSandbox):
    """The simulated DVCQG adapter. Every public method is thread-safe."""

    name = "dvcqg"
    base = BASE

    def __init__(self, port=0, cert=None, key=None, client_ca=None, username="lienthong",
                 password="lienthong", dstcode="000.00.00.H26", host="127.0.0.1", printer=None):
        self.username = username
        self.password = password
        self.dstcode = dstcode
        super().__init__(port=port, cert=cert, key=key, client_ca=client_ca, host=host, printer=printer)

    # ---- what tests look at --------------------------------------------------------------

    def calls(self, service=None):
        """The service calls (POST /adapter), optionally of one service."""
        return [r for r in self.received
                if r["path"] == BASE and (service is None or (r["json"] or {}).get("service") == service)]

    @property
    def logins(self):
        """How many times a client asked to log in (POST /adapter/auth), accepted or not."""
        with self._lock:
            return self._logins

    @property
    def sessions(self):
        """Every session issued, oldest first (a copy)."""
        with self._lock:
            return list(self._issued)

    @property
    def dossiers(self):
        """Stored dossiers by MaHoSo (a copy)."""
        with self._lock:
            return {k: dict(v) for k, v in self._dossiers.items()}

    def store_dossier(self, item):
        """Puts a dossier (DVCQG field names) straight into the store, as if synced."""
        with self._lock:
            self._dossiers[item["MaHoSo"]] = dict(item)

    # ---- what tests change ---------------------------------------------------------------

    def control(self, **kw):
        """delay_ms: wait this long before answering anything (0: not at all).
        fail_status: answer every request with this HTTP status (None: behave).
        fail_times: with fail_status, fail only this many requests, then behave (None: all).
        expire_sessions: True forgets every session issued so far (the next call gets "-1").
        reject_login: refuse every login as bad credentials.
        close_connection: drop the connection after reading each request, without answering.
        close_after_answer: answer (keep-alive, as usual), then close the connection once it has
        been idle for IDLE_CLOSE seconds, as a server whose idle timeout is shorter than the
        client's pool does. Not at once: a server closing right after an answer races the
        client's next request on that connection, and a POST lost in that race cannot be sent
        again (the server may have run it), so no correct client passes such a test every time."""
        unknown = set(kw) - set(CONTROL_KEYS)
        if unknown:
            raise ValueError(f"unknown control: {', '.join(sorted(unknown))}")
        with self._lock:
            if kw.pop("expire_sessions", False):
                self._sessions.clear()
            for k, v in kw.items():
                self._controls[k] = v

    # ---- internals -----------------------------------------------------------------------

    def _reset_locked(self):
        super()._reset_locked()
        self._logins = 0
        self._sessions = set()
        self._issued = []
        self._dossiers = {}
        self._progress = []
        self._controls = {"delay_ms": 0, "fail_status": None, "fail_times": None,
                          "reject_login": False, "close_connection": False,
                          "close_after_answer": False}

    def _controls_for_request_locked(self):
        """(a copy of the controls, the status to fail this request with or None), counting
        fail_times down."""
        ctl = dict(self._controls)
        fail = ctl["fail_status"]
        if fail is not None and ctl["fail_times"] is not None:
            if ctl["fail_times"] > 0:
                self._controls["fail_times"] = ctl["fail_times"] - 1
            else:
                fail = None
        return ctl, fail

    def _serve(self, h):
        body = h.read_body()
        if body is None:
            h.close_connection = True
            h.send_json(413, {"error_code": E_REQUEST,
                              "message": "Yêu cầu quá lớn hoặc sai độ dài"})
            return
        path = h.path.split("?", 1)[0]
        if path.startswith(CONTROL_PREFIX):
            self._serve_control(h, path, body)
            return
        try:
            doc = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            doc = None
        rec = self._record(h, path, body, json=doc)
        with self._lock:
            if path == AUTH_PATH:
                self._logins += 1
            ctl, fail = self._controls_for_request_locked()
        if ctl["delay_ms"]:
            # Interrupted by stop(), so a test never waits for a delay it no longer needs.
            if self._stopping.wait(ctl["delay_ms"] / 1000.0):
                h.drop()
                return
        if ctl["close_connection"]:
            self._print(f"{rec['peer_cn']} {h.command} {path} -> connection dropped (control)")
            h.drop()
            return
        if fail is not None:
            status, answer = fail, {"error_code": str(fail), "message": "Lỗi hệ thống (sandbox)"}
        else:
            status, answer = self._answer(h, path, doc, body)
        with self._lock:
            rec["answer"] = {"status": status, "json": answer}
        self._print(self._describe(rec, status, answer))
        h.send_json(status, answer)
        if ctl["close_after_answer"]:
            # http.server ends the connection when its next request line times out.
            h.connection.settimeout(IDLE_CLOSE)

    def _answer(self, h, path, doc, body):
        """(HTTP status, JSON answer) for one adapter request."""
        if path not in (BASE, AUTH_PATH):
            return 404, {"error_code": E_REQUEST, "message": f"Không có đường dẫn {path}"}
        if h.command != "POST":
            return 405, {"error_code": E_REQUEST, "message": "Chỉ chấp nhận POST"}
        # Protocol-level refusals are INFERRED (the real adapter sits behind an API manager that
        # answers such requests itself); they are HTTP 400 so they cannot pass for a success.
        ctype = h.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            return 400, {"error_code": E_REQUEST, "message": "Content-Type phải là application/json"}
        if h.headers.get("dstcode") != self.dstcode:
            return 400, {"error_code": E_REQUEST, "message": "Thiếu hoặc sai header dstcode"}
        if not isinstance(doc, dict):
            return 400, {"error_code": E_REQUEST,
                         "message": "Nội dung phải là một đối tượng JSON"}
        if path == AUTH_PATH:
            return 200, self._login(doc)
        with self._lock:
            valid = isinstance(doc.get("session"), str) and doc["session"] in self._sessions
        if not valid:
            return 200, {"error_code": E_AUTH, "message": MSG_SESSION_BAD}
        madonvi = doc.get("madonvi")
        if not isinstance(madonvi, str) or not MADONVI_RE.fullmatch(madonvi):
            return 200, {"error_code": E_INVALID,
                         "message": MSG_INVALID + "madonvi không đúng định dạng"}
        service = doc.get("service")
        handler = {"DongBoHoSoMC": self._sync, "CapNhatTienDoHoSoMC": self._progress_update,
                   "TraCuuHoSo": self._lookup}.get(service)
        if handler is None:
            return 200, {"error_code": E_SERVICE, "message": MSG_SERVICE_BAD}
        try:
            return 200, handler(doc)
        except Invalid as e:
            return 200, {"error_code": E_INVALID, "message": MSG_INVALID + str(e)}

    def _login(self, doc):
        with self._lock:
            if (self._controls["reject_login"] or doc.get("username") != self.username
                    or doc.get("password") != self.password):
                return {"error_code": E_AUTH, "message": MSG_LOGIN_BAD}
            session = secrets.token_hex(16)
            self._sessions.add(session)
            self._issued.append(session)
        return {"error_code": E_OK, "message": MSG_LOGIN_OK, "session": session}

    def _sync(self, doc):
        if doc.get("isUpdating") not in ("True", "False"):
            raise Invalid("isUpdating phải là \"True\" hoặc \"False\"")
        data = _check_items(doc, SYNC_REQUIRED, SYNC_DATES, SYNC_OPTIONAL_DATES, "TrangThaiHoSo",
                            _check_sync_item)
        with self._lock:
            for item in data:
                self._dossiers[item["MaHoSo"]] = item
        return {"error_code": E_OK, "message": MSG_SYNC_OK}

    def _progress_update(self, doc):
        data = _check_items(doc, PROGRESS_REQUIRED, PROGRESS_DATES, PROGRESS_OPTIONAL_DATES,
                            "TrangThai")
        with self._lock:
            for item in data:
                self._progress.append(item)
                stored = self._dossiers.get(item["MaHoSo"])
                if stored is not None:
                    stored["TrangThaiHoSo"] = item["TrangThai"]
        return {"error_code": E_OK, "message": MSG_PROGRESS_OK}

    def _lookup(self, doc):
        mahoso = doc.get("mahoso")
        if not isinstance(mahoso, str) or not mahoso:
            raise Invalid("mahoso là bắt buộc")
        with self._lock:
            item = self._dossiers.get(mahoso)
            if item is None:
                return {"error_code": E_OK, "message": MSG_NOT_FOUND, "result": []}
            return {"error_code": E_OK, "message": MSG_FOUND,
                    "result": [{"MaHoSo": item["MaHoSo"], "TrangThaiHoSo": item["TrangThaiHoSo"]}]}

    def _serve_control(self, h, path, body):
        if path == CONTROL_PREFIX + "received" and h.command == "GET":
            out = []
            for r in self.received:
                r["raw"] = r["raw"].decode("utf-8", "replace")
                out.append(r)
            h.send_json(200, out)
        elif path == CONTROL_PREFIX + "reset" and h.command == "POST":
            self.reset()
            h.send_json(200, {"ok": True})
        elif path == CONTROL_PREFIX + "control" and h.command == "POST":
            try:
                kw = json.loads(body.decode("utf-8") or "{}")
                if not isinstance(kw, dict):
                    raise ValueError("the body must be a JSON object")
                self.control(**kw)
            except (UnicodeDecodeError, ValueError) as e:
                h.send_json(400, {"ok": False, "error": str(e)})
                return
            h.send_json(200, {"ok": True})
        else:
            h.send_json(404, {"ok": False, "error": f"no control {h.command} {path}"})

    @staticmethod
    def _describe(rec, status, answer):
        doc = rec["json"] if isinstance(rec["json"], dict) else {}
        what = doc.get("service", "")
        if rec["path"] == AUTH_PATH:
            what = "login " + str(doc.get("username", ""))
        elif isinstance(doc.get("data"), list) and doc["data"] and isinstance(doc["data"][0], dict):
            what += " " + ",".join(str(d.get("MaHoSo")) for d in doc["data"] if isinstance(d, dict))
        elif "mahoso" in doc:
            what += " " + str(doc["mahoso"])
        return (f"{rec['peer_cn']} {rec['method']} {rec['path']} {what.strip()} -> {status} "
                f"error_code={answer.get('error_code')} {answer.get('message', '')}")


def main(argv=None):
    p = argparse.ArgumentParser(description="Simulated DVCQG adapter (national public service portal).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9443)
    p.add_argument("--cert", required=True, help="server certificate (PEM)")
    p.add_argument("--key", required=True, help="server key (PEM)")
    p.add_argument("--client-ca", required=True, help="CA that client certificates must chain to")
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--dstcode", default="000.00.00.H26", help="the dstcode header every call must carry")
    p.add_argument("--verbose", action="store_true", help="print one line per request and its answer")
    args = p.parse_args(argv)

    srv = DvcqgSandbox(port=args.port, cert=args.cert, key=args.key, client_ca=args.client_ca,
                       username=args.username, password=args.password, dstcode=args.dstcode,
                       host=args.host, printer=say if args.verbose else None)
    return serve_until_signal(srv, f"dvcqg sandbox: listening on {srv.url} (client certificates from "
                                   f"{args.client_ca})")


if __name__ == "__main__":
    sys.exit(main())

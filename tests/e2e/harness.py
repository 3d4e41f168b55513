"""harness.py: how the e2e tests run the real lienthong binary and talk to it.

This module owns the test-side view of a gateway: the config it is started with (written as YAML
from a Python dict), the process (started, waited for on /healthz, stopped with SIGTERM and
checked for sanitizer reports), the clients (mTLS with http.client, and raw TLS for what
http.client will not send), the gateway's JSON log, and the city documents the tests send.
Fixtures live in conftest.py; this module has no pytest state so that tests can import it.
Standard library only.
"""

import copy
import http.client
import json
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "sandbox"))
# The sandbox lives next door, not in an installed package.
from dvcqg import DvcqgSandbox  # noqa: E402

BINARY = Path(os.environ.get("LIENTHONG_BIN") or REPO / "build" / "asan" / "lienthong")
MAPPINGS = REPO / "mappings" / "dvcqg"
EXAMPLES = MAPPINGS / "examples"
GEN_SH = REPO / "certs" / "gen.sh"
JSON_SUITE = Path(__file__).resolve().parent.parent / "conformance" / "JSONTestSuite" / "test_parsing"

CITY_CN = "hanoi-dossier-system"
GATEWAY_CN = "lienthong-gateway"
DSTCODE = "000.00.00.H26"       # the default of ${env:DVCQG_DSTCODE:-...} in the test config
MADONVI = "000.00.00.H26"
DVCQG_USER = "lienthong-e2e"
PASSWORD_ENV = "LT_E2E_DVCQG_PASS"
# A fresh secret per run, so a test can prove it never reaches a log line.
PASSWORD = "e2e-pass-" + secrets.token_hex(8)

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
READY_TIMEOUT = 10.0            # seconds for a started gateway to answer /healthz
STOP_TIMEOUT = 10.0             # seconds between SIGTERM and SIGKILL
REQUEST_TIMEOUT = 15.0

SYNC = "/v1/dvcqg/dossiers"
PROGRESS = "/v1/dvcqg/progress"
LOOKUP = "/v1/dvcqg/lookup"

# route name -> (path, its mapping in mappings/dvcqg/)
ROUTES = {
    "dvcqg.dossier.sync": (SYNC, "dossier-sync.yaml"),
    "dvcqg.dossier.progress": (PROGRESS, "progress-update.yaml"),
    "dvcqg.dossier.lookup": (LOOKUP, "dossier-lookup.yaml"),
}

ACCESS_KEYS = ("time", "request_id", "route", "client", "upstream", "status", "upstream_status",
               "bytes_in", "bytes_out", "latency_ms")


class HarnessError(AssertionError):
    """The test environment is not what the suite needs (a failure, never a skip)."""


# ---- PKI ---------------------------------------------------------------------------------------

class Pki:
    """The certificates of certs/gen.sh in one folder: pki["city.crt"] is a path (str)."""

    def __init__(self, folder):
        self.dir = Path(folder)
        self._contexts = {}

    def __getitem__(self, name):
        path = self.dir / name
        if not path.is_file():
            raise HarnessError(f"{path}: not made by certs/gen.sh")
        return str(path)

    def pin(self, name):
        """The SPKI pin of NAME.crt ("sha256//...")."""
        return Path(self[name + ".pin"]).read_text().strip()

    def client_context(self, cert):
        """An ssl context that trusts the dev CA and presents NAME.crt (None: no certificate)."""
        if cert not in self._contexts:
            ctx = ssl.create_default_context(cafile=self["ca.crt"])
            if cert is not None:
                ctx.load_cert_chain(self[cert + ".crt"], self[cert + ".key"])
            self._contexts[cert] = ctx
        return self._contexts[cert]


def make_pki(folder):
    res = subprocess.run([str(GEN_SH), str(folder)], capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise HarnessError(f"certs/gen.sh failed ({res.returncode}):\n{res.stdout}{res.stderr}")
    return Pki(folder)


def new_sandbox(pki, cert="sandbox"):
    """A DVCQG sandbox (not started) presenting NAME.crt and demanding a dev-CA client cert."""
    return DvcqgSandbox(port=0, cert=pki[cert + ".crt"], key=pki[cert + ".key"],
                        client_ca=pki["ca.crt"], username=DVCQG_USER, password=PASSWORD,
                        dstcode=DSTCODE)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- YAML --------------------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z0-9_/.][A-Za-z0-9_./:@=+-]*")
# Plain scalars that the YAML 1.2 core schema would not read as a string.
_NOT_STRING = re.compile(r"null|Null|NULL|~|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|"
                         r"0x[0-9a-fA-F]+|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|"
                         r"[-+]?\.(inf|Inf|INF)|\.nan|\.NaN|\.NAN")


def _scalar(v, flow):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    # libyaml 0.2.5 may stop a plain scalar at ':' inside a flow collection: quote those.
    if _PLAIN.fullmatch(s) and not _NOT_STRING.fullmatch(s) and not (flow and ":" in s):
        return s
    return json.dumps(s, ensure_ascii=False)    # a JSON string is a YAML double-quoted scalar


def _is_scalar(v):
    return not isinstance(v, (dict, list))


def to_yaml(doc, indent=0):
    """Block YAML for nested dicts; a dict of scalars or a list of scalars is written in flow
    style on one line, as SPEC.md writes them (`match: { method: POST, path: /x }`)."""
    pad = " " * indent
    lines = []
    for k, v in doc.items():
        key = _scalar(k, False)
        if isinstance(v, dict) and v and all(_is_scalar(x) for x in v.values()):
            inner = ", ".join(f"{_scalar(a, True)}: {_scalar(b, True)}" for a, b in v.items())
            lines.append(f"{pad}{key}: {{ {inner} }}")
        elif isinstance(v, dict) and v:
            lines.append(f"{pad}{key}:")
            lines.append(to_yaml(v, indent + 2).rstrip("\n"))
        elif isinstance(v, list) and all(_is_scalar(x) for x in v):
            lines.append(f"{pad}{key}: [{', '.join(_scalar(x, True) for x in v)}]")
        elif isinstance(v, list):
            lines.append(f"{pad}{key}:")
            for item in v:
                body = to_yaml(item, indent + 4).rstrip("\n")
                lines.append(f"{pad}  - {body.lstrip()}")
        elif isinstance(v, dict):
            lines.append(f"{pad}{key}: {{}}")
        else:
            lines.append(f"{pad}{key}: {_scalar(v, False)}")
    return "\n".join(lines) + "\n"


def locate(text, needle, after=0):
    """(line, col), both 1-based, of the first `needle` in text at or after index `after`."""
    i = text.find(needle, after)
    if i < 0:
        raise HarnessError(f"{needle!r} is not in the YAML written")
    line = text.count("\n", 0, i) + 1
    col = i - (text.rfind("\n", 0, i) + 1) + 1
    return line, col


# ---- config ------------------------------------------------------------------------------------

def mapping_file(route):
    """The repo's mapping for a route, by absolute path (the names conf/lienthong.yaml uses)."""
    path = MAPPINGS / ROUTES[route][1]
    if not path.is_file():
        raise HarnessError(f"{path}: the mapping of route {route} is missing")
    return path


def merge_config(base, extra):
    """Deep-merges extra into base (dicts merged key by key, anything else replaced)."""
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merge_config(base[k], v)
        else:
            base[k] = copy.deepcopy(v)
    return base


def gateway_config(pki, workdir, public_port, admin_port, upstream_url, pin=None,
                   max_body="64KiB", workers=1, total_timeout="3s", extra_routes=None,
                   header_timeout="10s", extra=None, connect_timeout=None, body_timeout="5s"):
    """The test config as a dict (to_yaml writes it). One worker, so that the token cache and
    the log are those of one process unless a test asks otherwise. extra_routes: more routes on
    the public listener to upstream dvcqg, {name: {"path": P, "mapping": FILE, ...}}. extra (a
    dict) is merged into the result: more upstreams and routes (queue mode's tests)."""
    tls = {"ca": pki["ca.crt"], "cert": pki["gw-client.crt"], "key": pki["gw-client.key"]}
    if pin is not None:
        tls["pin"] = pin
    routes = {}
    for name, (path, _file) in ROUTES.items():
        routes[name] = {
            "listener": "public",
            "match": {"method": "POST", "path": path},
            "allow": ["CN=" + CITY_CN],
            "mapping": str(mapping_file(name)),
            "upstream": "dvcqg",
            "mode": "sync",
        }
    for name, spec in (extra_routes or {}).items():
        spec = dict(spec)
        routes[name] = {"listener": "public", "match": {"method": "POST", "path": spec.pop("path")},
                        "allow": ["CN=" + CITY_CN], "upstream": "dvcqg", "mode": "sync", **spec}
    cfg = {
        "gateway": {
            "workers": workers,
            "store": str(Path(workdir) / "lienthong.db"),
            "log": {"level": "info", "format": "json"},
            "limits": {"max_body": max_body, "max_headers": "16KiB", "header_timeout": header_timeout,
                       "body_timeout": body_timeout},
        },
        "listeners": {
            "public": {
                "listen": f"127.0.0.1:{public_port}",
                "tls": {"cert": pki["gateway.crt"], "key": pki["gateway.key"],
                        "client_ca": pki["ca.crt"], "client_auth": "require"},
            },
            "admin": {"listen": f"127.0.0.1:{admin_port}", "admin": True},
        },
        "upstreams": {
            "dvcqg": {
                "url": upstream_url,
                "tls": tls,
                "headers": {"dstcode": "${env:DVCQG_DSTCODE:-" + DSTCODE + "}"},
                # a loaded CI machine handshakes slowly: the connect timeout is the total one by default
                "timeout": {"connect": connect_timeout or total_timeout, "total": total_timeout},
                "auth": {
                    "type": "login",
                    "request": {"path": "/auth",
                                "body": {"username": DVCQG_USER,
                                         "password": "${env:" + PASSWORD_ENV + "}"}},
                    "token": "session",
                    "put": {"body": "session"},
                    "refresh_on": {"status": [401], "field": "error_code", "values": ["-1"]},
                },
            },
        },
        "routes": routes,
    }
    return merge_config(cfg, extra or {})


def child_env():
    """The environment of a gateway or `lienthong check`: sanitizers as `make test` sets them,
    the login password as a secret, and no DVCQG_DSTCODE so that the config's default is used."""
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1:strict_string_checks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.pop("DVCQG_DSTCODE", None)
    env[PASSWORD_ENV] = PASSWORD
    return env


def need_binary():
    if not (BINARY.is_file() and os.access(BINARY, os.X_OK)):
        raise HarnessError(f"{BINARY}: no gateway binary (run `make asan`, or set LIENTHONG_BIN)")


def sanitizer_report(text):
    """The part of text from the first sanitizer report on, or None."""
    hits = [text.find(m) for m in SANITIZER_MARKS if m in text]
    if not hits:
        return None
    start = text.rfind("\n", 0, min(hits)) + 1
    return text[start:start + 6000]


def run_check(config_path, timeout=60):
    """`lienthong check -c FILE`: (exit status, output lines). A sanitizer report is a failure."""
    need_binary()
    res = subprocess.run([str(BINARY), "check", "-c", str(config_path)], capture_output=True,
                         text=True, errors="replace", timeout=timeout, env=child_env())
    report = sanitizer_report(res.stderr)
    if report:
        raise AssertionError(f"lienthong check {config_path}: sanitizer report:\n{report}")
    return res.returncode, (res.stdout + res.stderr).splitlines()


# ---- HTTP clients ------------------------------------------------------------------------------

class Response(namedtuple("Response", "status headers body")):
    """status (int), headers (http.client.HTTPMessage, case-insensitive), body (bytes)."""

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name)

    def text(self):
        return self.body.decode("utf-8", "replace")


def send(conn, method, path, body=None, headers=None):
    """One request on an http.client connection (opened on demand). A dict or list body is sent
    as JSON with Content-Type application/json unless headers say otherwise."""
    hdrs = {}
    if isinstance(body, (dict, list)):
        body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        hdrs["Content-Type"] = "application/json"
    elif isinstance(body, str):
        body = body.encode("utf-8")
    hdrs.update(headers or {})
    conn.request(method, path, body=body, headers=hdrs)
    resp = conn.getresponse()
    return Response(resp.status, resp.headers, resp.read())


# What a client sees when the gateway refuses its TLS handshake. With TLS 1.3 the client's
# handshake completes before the server has checked the client certificate, so the refusal
# (an alert, or a reset) may only surface at the first read.
TLS_REFUSALS = (ssl.SSLError, ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected)


def assert_error(resp, status, code, field=None, route=None):
    """The gateway's JSON error envelope (SPEC.md § HTTP behaviour); returns its "error"."""
    assert resp.status == status, f"expected {status} {code}, got {resp.status}: {resp.text()[:500]}"
    ctype = (resp.header("Content-Type") or "").split(";")[0].strip()
    assert ctype == "application/json", f"error answer Content-Type {ctype!r}: {resp.text()[:300]}"
    doc = resp.json()
    assert isinstance(doc, dict) and isinstance(doc.get("error"), dict), f"no error envelope: {doc}"
    err = doc["error"]
    assert err.get("code") == code, f"error code {err.get('code')!r}, expected {code!r}: {doc}"
    assert isinstance(err.get("message"), str) and err["message"], f"no message: {doc}"
    rid = resp.header("X-Request-Id")
    assert rid, f"no X-Request-Id header on a {status} answer"
    assert err.get("request_id") == rid, f"request_id {err.get('request_id')!r} != X-Request-Id {rid!r}"
    if field is not None:
        assert err.get("field") == field, f"error field {err.get('field')!r}, expected {field!r}"
    if route is not None:
        assert err.get("route") == route, f"error route {err.get('route')!r}, expected {route!r}"
    return err


# ---- the gateway process -----------------------------------------------------------------------

class Gateway:
    """One running `lienthong run -c CONFIG` with its config, logs and ports."""

    def __init__(self, pki, workdir, config):
        self.pki = pki
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.config_path = self.workdir / "lienthong.yaml"
        self.config_path.write_text(to_yaml(config))
        self.port = int(config["listeners"]["public"]["listen"].rsplit(":", 1)[1])
        self.admin_port = int(config["listeners"]["admin"]["listen"].rsplit(":", 1)[1])
        self.stderr_path = self.workdir / "stderr.log"
        self.stdout_path = self.workdir / "stdout.log"
        self.proc = None
        self.start_failed = False

    def start(self):
        need_binary()
        try:
            return self._start()
        except HarnessError:
            self.start_failed = True    # already reported; stop() only cleans up
            raise

    def _start(self):
        with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
            self.proc = subprocess.Popen([str(BINARY), "run", "-c", str(self.config_path)],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=child_env(), cwd=self.workdir)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise HarnessError(f"lienthong exited with status {self.proc.returncode} at start:\n"
                                   f"{self.stderr_tail()}")
            try:
                if self.healthz()[0] == 200:
                    return self
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise HarnessError(f"lienthong did not answer GET /healthz on 127.0.0.1:"
                                   f"{self.admin_port} within {READY_TIMEOUT}s:\n{self.stderr_tail()}")
            time.sleep(0.05)

    def stop(self):
        """SIGTERM, then SIGKILL after STOP_TIMEOUT. Returns the problems seen (strings): not
        exiting on SIGTERM, a non-zero exit, a sanitizer report."""
        if self.proc is None:
            return []
        if self.start_failed:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            return []
        problems = []
        if self.proc.poll() is not None:
            problems.append(f"lienthong had already exited (status {self.proc.returncode}) "
                            "before the test ended")
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
                if self.proc.returncode != 0:
                    problems.append(f"lienthong exited with status {self.proc.returncode} on SIGTERM")
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problems.append(f"lienthong did not exit within {STOP_TIMEOUT}s of SIGTERM")
        report = sanitizer_report(self.stderr())
        if report:
            problems.append("sanitizer report:\n" + report)
        if problems:
            problems.append(f"(config {self.config_path}, stderr {self.stderr_path})")
        return problems

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # -- logs --

    def stderr(self):
        try:
            return self.stderr_path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stderr_tail(self, n=60):
        return "\n".join(self.stderr().splitlines()[-n:])

    def log_lines(self):
        """Every stderr line that is a JSON object, parsed."""
        out = []
        for line in self.stderr().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if isinstance(doc, dict):
                    out.append(doc)
        return out

    def access_lines(self):
        """The access log: the JSON lines of type "access", one per answered request."""
        return [d for d in self.log_lines() if d.get("type") == "access"]

    def wait_access(self, request_ids, timeout=5.0):
        """The access lines of these request ids, waiting for each to be written at least once."""
        want = set(request_ids)
        deadline = time.monotonic() + timeout
        while True:
            lines = [d for d in self.access_lines() if d.get("request_id") in want]
            if {d["request_id"] for d in lines} >= want or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    # -- clients --

    def healthz(self):
        """GET /healthz on the admin listener: (status, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=2)
        try:
            r = send(conn, "GET", "/healthz")
            return r.status, r.body
        finally:
            conn.close()

    def connect(self, cert="city", timeout=REQUEST_TIMEOUT):
        """A keep-alive mTLS connection to the public listener presenting NAME.crt."""
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                           context=self.pki.client_context(cert))

    def request(self, method, path, body=None, headers=None, cert="city", timeout=REQUEST_TIMEOUT):
        """One request on its own connection."""
        conn = self.connect(cert, timeout)
        try:
            return send(conn, method, path, body, headers)
        finally:
            conn.close()

    def post(self, path, body, headers=None, cert="city", timeout=REQUEST_TIMEOUT):
        return self.request("POST", path, body, headers, cert, timeout)

    def raw(self, data, cert="city", timeout=REQUEST_TIMEOUT):
        """Sends bytes as they are over mTLS and reads one HTTP answer. The gateway may answer
        and close before reading everything (413), so a failed send is not an error here."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        tls = self.pki.client_context(cert).wrap_socket(sock, server_hostname="127.0.0.1")
        try:
            try:
                tls.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            resp = http.client.HTTPResponse(tls, method="POST")
            resp.begin()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            tls.close()


class KeepAliveClient:
    """Requests on one kept-alive connection; when the gateway has closed it in between (after
    an error answer, say), the request is sent once more on a new connection."""

    def __init__(self, gw, cert="city", timeout=REQUEST_TIMEOUT):
        self.gw, self.cert, self.timeout = gw, cert, timeout
        self.conn = None

    def send(self, method, path, body=None, headers=None):
        for attempt in (1, 2):
            reused = self.conn is not None and self.conn.sock is not None
            if self.conn is None:
                self.conn = self.gw.connect(self.cert, self.timeout)
            try:
                return send(self.conn, method, path, body, headers)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    ssl.SSLEOFError):
                self.conn.close()
                self.conn = None
                if not reused or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()


class Launcher:
    """Starts gateways into a folder and stops them all at the end."""

    def __init__(self, pki, workdir):
        self.pki = pki
        self.workdir = Path(workdir)
        self.gateways = []

    def start(self, sandbox=None, upstream_url=None, configure=None, **options):
        """A running gateway whose upstream dvcqg is the sandbox (or upstream_url). options go
        to gateway_config (pin, max_body, workers, total_timeout, extra_routes, header_timeout, extra,
        connect_timeout); configure(config, pki), when given, may add upstreams and routes to the
        config dict before it is written."""
        if upstream_url is None:
            upstream_url = sandbox.url
        for attempt in range(1, 4):
            wd = self.workdir / f"gw{len(self.gateways) + 1}"
            public = free_port()
            admin = free_port()
            while admin == public:
                admin = free_port()
            config = gateway_config(self.pki, wd, public, admin, upstream_url, **options)
            if configure is not None:
                configure(config, self.pki)
            gw = Gateway(self.pki, wd, config)
            self.gateways.append(gw)
            try:
                return gw.start()
            except HarnessError:
                # A free port can be taken between free_port() and the gateway's bind (by
                # another process's outgoing connection): try other ports, for that cause only.
                if attempt == 3 or "in use" not in gw.stderr():
                    raise
        raise AssertionError("unreachable")

    def close(self):
        problems = []
        for i, gw in enumerate(self.gateways, 1):
            problems += [f"gateway {i}: {p}" for p in gw.stop()]
        return problems


# ---- city documents ----------------------------------------------------------------------------

BUILTIN_DOSSIER = {
    "is_update": False,
    "dossiers": [{
        "code": "000.30.21.H26-250115-0001",
        "procedure": {"code": "1.001612", "name": "Cấp Giấy chứng nhận đăng ký hộ kinh doanh"},
        "sector": {"code": "G09-TM01", "name": "Thành lập và hoạt động của hộ kinh doanh"},
        "receipt_no": "",
        "applicant": {"full_name": "Nguyễn Văn An", "kind": "citizen", "id_number": "001085012345",
                      "email": "an.nguyen@example.vn", "phone": "0912345678"},
        "summary": "Đăng ký hộ kinh doanh tại phường Ba Đình",
        "received_at": "2025-01-15T08:30:00+07:00",
        "due_at": "2025-01-20T17:00:00+07:00",
        "status": "accepted",
        "delivery": "direct",
        "agency": "UBND phường Ba Đình",
        "note": "",
        "documents": [{"id": "1001", "name": "Giấy đề nghị đăng ký hộ kinh doanh.pdf",
                       "url": "https://dichvucong.hanoi.gov.vn/documents/1001/de-nghi.pdf",
                       "deleted": False}],
        "fees": [{"code": "LP01", "name": "Lệ phí đăng ký hộ kinh doanh", "amount": 100000,
                  "kind": "fee"}],
        "results": [{"id": "2001", "name": "Giấy chứng nhận đăng ký hộ kinh doanh",
                     "url": "https://dichvucong.hanoi.gov.vn/documents/2001/ket-qua.pdf"}],
    }],
}


def dossier_code(n):
    """A valid MaHoSo of a Hà Nội unit, numbered n (FORMATS.md §7.2)."""
    return f"000.30.21.H26-250115-{n:04d}"


def city_dossier(code=None):
    """The city's sync request: mappings/dvcqg/examples/dossier-accepted.json when present
    (what the mapping's own example promises), else the built-in one; code replaces the first
    dossier's code."""
    example = EXAMPLES / "dossier-accepted.json"
    doc = json.loads(example.read_text()) if example.is_file() else copy.deepcopy(BUILTIN_DOSSIER)
    if code is not None:
        doc["dossiers"][0]["code"] = code
    return doc


def expected_sync_body(session):
    """What the portal must receive for city_dossier(): the mapping's own expected output with
    the live session in it, first, as FORMATS.md §2.3 writes the envelope."""
    path = EXAMPLES / "dossier-accepted.dvcqg.json"
    if not path.is_file():
        raise HarnessError(f"{path} is missing: the mapping's expected DVCQG body")
    doc = json.loads(path.read_text())
    doc.pop("session", None)
    return {"session": session, **doc}


def city_progress(code):
    return {"updates": [{
        "dossier_code": code,
        "handler": "Trần Thị Bình",
        "title": "Chuyên viên",
        "at": "2025-01-16T10:05:12+07:00",
        "department": "Phòng Kinh tế",
        "content": "Chuyển thẩm định",
        "status": "processing",
        "started_at": None,
        "due_at": None,
    }]}


def city_lookup(code):
    return {"dossier_code": code}


def portal_dossier(code, status="2"):
    """A dossier as the portal stores it (DVCQG field names), for lookups."""
    return {"MaHoSo": code, "MaTTHC": "1.001612", "TrangThaiHoSo": status,
            "NgayTiepNhan": "20250115083000", "NgayHenTra": "20250120170000"}


def sandbox_client(pki, port, cert="gw-client"):
    """An mTLS connection straight to a sandbox on port, as the gateway makes them."""
    return http.client.HTTPSConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT,
                                       context=pki.client_context(cert))


def portal_headers(**extra):
    h = {"Content-Type": "application/json", "dstcode": DSTCODE}
    h.update(extra)
    return h


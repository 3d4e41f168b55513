"""mtls.py: the machinery every sandbox endpoint shares.

This module owns how a simulated partner listens: HTTPS that demands a client certificate from
the client CA (so every request that reaches a sandbox proves the gateway presented its own
certificate), one thread per connection with the handshake off the accept loop, keep-alive,
bounded bodies, and a stop that closes every open connection at once. It also owns the record
of what arrived (MtlsSandbox.received) and the plain answer writers. The partners themselves
(dvcqg.py, vnpt_invoice.py, viettel_sinvoice.py, viettel_sms.py, vnpt_sms.py) subclass
MtlsSandbox and write _serve, or RecordingSandbox and write _answer.

Python 3.11 standard library only.
"""

import json
import signal
import socket
import socketserver
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 8 * 1024 * 1024      # a request body larger than this is refused unread
HANDSHAKE_TIMEOUT = 10.0        # seconds a TLS handshake may take
IDLE_TIMEOUT = 30.0             # seconds a kept-alive connection may stay idle


def peer_cn(sock):
    """The subject CN of the verified peer certificate, or None."""
    try:
        cert = sock.getpeercert()
    except (ValueError, OSError):
        return None
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


def say(line):
    print(line, flush=True)


def serve_until_signal(srv, banner):
    """Standalone use: starts srv, says banner, serves until SIGTERM or SIGINT, stops. Exit status."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    srv.start()
    say(banner)
    while not done.wait(1.0):
        pass
    srv.stop()
    return 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128    # the gateway opens many connections at once under load

    def __init__(self, addr, sandbox):
        self.sandbox = sandbox
        super().__init__(addr, _Handler)

    def server_bind(self):
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall on a
        # machine without DNS; the sandbox has no use for it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        # The handshake runs here, in the connection's own thread, so a slow or failing
        # client never blocks the accept loop.
        request.settimeout(HANDSHAKE_TIMEOUT)
        # http.server writes the headers and the body apart: two TLS records, and without
        # TCP_NODELAY the second waits for the gateway's delayed ACK (40 ms per answer), which
        # real servers (nginx, IIS) do not do.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn = self.sandbox._tls.wrap_socket(request, server_side=True)
        except OSError as e:
            self.sandbox._note_tls_failure(client_address, e)
            return
        self.sandbox._track(conn, True)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except OSError:
            pass        # the peer went away mid-request: nothing to answer
        finally:
            self.sandbox._track(conn, False)
            try:
                conn.close()
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive, as the gateway's connection pool expects
    sys_version = ""
    timeout = IDLE_TIMEOUT

    @property
    def server_version(self):
        return self.server.sandbox.name + "-sandbox/1"

    def log_message(self, format, *args):   # noqa: A002 (the base class's name)
        pass

    def do_POST(self):
        self.server.sandbox._serve(self)

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_POST

    def read_body(self):
        """The request body (bytes), or None when it cannot be read within MAX_BODY."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                if len(out) + size > MAX_BODY:
                    return None
                out += self.rfile.read(size)
                self.rfile.readline(8)
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return None
        if length < 0 or length > MAX_BODY:
            return None
        return self.rfile.read(length)

    def send_body(self, status, content_type, data):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def send_json(self, status, obj):
        self.send_body(status, "application/json; charset=utf-8",
                       json.dumps(obj, ensure_ascii=False).encode("utf-8"))

    def drop(self):
        """Closes the connection without a word, as a crashed or overloaded peer does."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class MtlsSandbox:
    """An mTLS listener with a record of what arrived. Subclasses set `name`, implement
    _serve(handler) and may extend _reset_locked(); every public method is thread-safe."""

    name = "sandbox"
    base = ""                   # the path prefix of the gateway's upstream url

    def __init__(self, port=0, cert=None, key=None, client_ca=None, host="127.0.0.1", printer=None):
        if not (cert and key and client_ca):
            raise ValueError("cert, key and client_ca are required: the sandbox speaks mTLS only")
        self.host = host
        self._printer = printer         # callable(str) for one line per request, or None
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.minimum_version = ssl.TLSVersion.TLSv1_2
        self._tls.load_cert_chain(cert, key)
        self._tls.verify_mode = ssl.CERT_REQUIRED
        self._tls.load_verify_locations(client_ca)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._live = set()
        self._server = _Server((host, port), self)
        self._thread = None
        self._reset_locked()

    # ---- lifecycle ------------------------------------------------------------------------

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        """The gateway's upstream url for this sandbox."""
        return f"https://{self.host}:{self.port}{self.base}"

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.name + "-sandbox",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stops listening and closes every open connection (a peer sees EOF at once)."""
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()
        with self._lock:
            live = list(self._live)
        for conn in live:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- what tests look at --------------------------------------------------------------

    @property
    def received(self):
        """Every request, in arrival order (a copy): dicts with method, path, headers (names
        lower-cased), header_list (as sent), raw (bytes), peer_cn, time, answer, and what the
        subclass adds (the dvcqg sandbox: json)."""
        with self._lock:
            return [dict(r) for r in self._received]

    @property
    def tls_failures(self):
        """Handshakes that failed: dicts with client (address) and error (text)."""
        with self._lock:
            return list(self._tls_failures)

    def reset(self):
        """Forgets everything the subclass remembers, and every request."""
        with self._lock:
            self._reset_locked()

    # ---- for subclasses --------------------------------------------------------------------

    def _reset_locked(self):
        self._received = []
        self._tls_failures = []

    def _record(self, h, path, body, **extra):
        """Appends one request to the record and returns it (its answer is set later)."""
        rec = {"method": h.command, "path": path,
               "headers": {k.lower(): v for k, v in h.headers.items()},
               "header_list": list(h.headers.items()),
               "raw": body, "peer_cn": peer_cn(h.connection), "time": time.time(), "answer": None}
        rec.update(extra)
        with self._lock:
            self._received.append(rec)
        return rec

    def _track(self, conn, alive):
        with self._lock:
            if alive:
                self._live.add(conn)
            else:
                self._live.discard(conn)

    def _note_tls_failure(self, client, err):
        with self._lock:
            self._tls_failures.append({"client": client, "error": str(err), "time": time.time()})
        self._print(f"TLS handshake failed from {client[0]}:{client[1]}: {err}")

    def _print(self, line):
        if self._printer is not None:
            self._printer(time.strftime("%H:%M:%S ") + line)

    def _serve(self, h):
        raise NotImplementedError


class RecordingSandbox(MtlsSandbox):
    """A partner that answers each request from its body: subclasses write
    _answer(handler, path, body) -> (status, content_type, bytes). The record's answer is
    {"status", "content_type", "body"} (body as text)."""

    def _serve(self, h):
        body = h.read_body()
        if body is None:
            h.close_connection = True
            h.send_body(413, "text/plain; charset=utf-8", b"request too large\n")
            return
        path = h.path.split("?", 1)[0]
        rec = self._record(h, path, body, text=body.decode("utf-8", "replace"))
        status, ctype, data = self._answer(h, path, body)
        with self._lock:
            rec["answer"] = {"status": status, "content_type": ctype, "body": data.decode("utf-8", "replace")}
        self._print(f"{rec['peer_cn']} {h.command} {path} -> {status} {data[:120]!r}")
        h.send_body(status, ctype, data)

    def _answer(self, h, path, body):
        raise NotImplementedError


def standalone_main(cls, argv=None, options=()):
    """The command line of a sandbox module: --host --port --cert --key --client-ca --verbose,
    plus `--NAME VALUE` for each constructor keyword in options (credentials, mostly)."""
    import argparse

    p = argparse.ArgumentParser(description=(cls.__doc__ or cls.name).strip().splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True, help="server certificate (PEM)")
    p.add_argument("--key", required=True, help="server key (PEM)")
    p.add_argument("--client-ca", required=True, help="CA that client certificates must chain to")
    p.add_argument("--verbose", action="store_true", help="print one line per request and its answer")
    for name in options:
        p.add_argument("--" + name.replace("_", "-"), dest=name)
    args = p.parse_args(argv)
    kw = {name: getattr(args, name) for name in options if getattr(args, name) is not None}
    srv = cls(port=args.port, cert=args.cert, key=args.key, client_ca=args.client_ca, host=args.host,
              printer=say if args.verbose else None, **kw)
    return serve_until_signal(srv, f"{cls.name} sandbox: listening on {srv.url}")

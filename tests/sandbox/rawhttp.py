"""rawhttp.py: a scripted raw HTTP/1.1 upstream, over mutual TLS or plain TCP.

This module owns an upstream whose every byte a test chooses: tests/e2e/test_23_upstream_http.py
uses it to pin down how the gateway speaks HTTP/1.1 to its upstreams (framing, keep-alive,
broken answers, timeouts). Unlike mtls.py's sandboxes it has no HTTP server library under it:
it reads each request itself (head, then a Content-Length or chunked body) and answers with the
bytes, pauses and closes the test scripted, per connection and per request. It records, per
connection, the raw bytes received and each request parsed, so tests can assert exactly what
the gateway wrote.

    srv = RawUpstream(tls={"cert": C, "key": K, "client_ca": CA}).start()   # or tls=None: plain
    srv.script(Conn(reply(200, b'{}'), then=reply(200, b'{}')))             # first connection
    ... srv.connections, srv.requests ...
    srv.stop()

A script is one Conn per accepted connection, in accept order; connections past the script
follow `otherwise` (by default they are closed at their first request, unanswered). A Conn's
replies answer that connection's requests in turn, and `then` every later one (None: close the
connection at the next request). A reply is bytes, or a sequence of actions: bytes (written in
one write), Pause(seconds), CLOSE (close_notify on TLS, then FIN), DROP (FIN without
close_notify) or HANG (do nothing more until the server stops). Conn(mute=True) accepts the TCP
connection and never reads or writes a byte: on TLS, a handshake that is never answered.

Threads: one accepting, one per connection; stop() wakes every pause and read and joins them.
Python 3.11 standard library only; not a standalone program (the partner sandboxes are).
"""

import socket
import ssl
import threading

HANDSHAKE_TIMEOUT = 10.0        # seconds a TLS handshake may take
MAX_HEAD = 1024 * 1024          # a request head larger than this ends the connection
MAX_BODY = 16 * 1024 * 1024     # so does a request body larger than this
JOIN_TIMEOUT = 5.0


class Pause:
    """An action: wait this many seconds (cut short when the server stops)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __repr__(self):
        return f"Pause({self.seconds})"


class _Mark:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


CLOSE = _Mark("CLOSE")
DROP = _Mark("DROP")
HANG = _Mark("HANG")


class Conn:
    """What one accepted connection does: its replies in turn, then `then` for every later
    request (None: close at the next request, unanswered). mute: never read or write."""

    def __init__(self, *replies, then=None, mute=False):
        self.replies = list(replies)
        self.then = then
        self.mute = mute

    def reply_for(self, n):
        """The reply to the connection's request n (0-based), or None."""
        return self.replies[n] if n < len(self.replies) else self.then


# ---- answers ---------------------------------------------------------------------------------

REASONS = {100: "Continue", 200: "OK", 204: "No Content", 400: "Bad Request", 500: "Internal Server Error"}


def head(status=200, headers=(), reason=None, version="HTTP/1.1"):
    """A status line and header block, CRLF-terminated. headers: (name, value) pairs, as sent."""
    lines = [f"{version} {status} {REASONS.get(status, 'Status') if reason is None else reason}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def reply(status=200, body=b"", headers=(("Content-Type", "application/json"),), length=True, **kw):
    """A whole answer: head plus body, with Content-Length unless length is False."""
    hdrs = list(headers) + ([("Content-Length", str(len(body)))] if length else [])
    return head(status, hdrs, **kw) + body


def chunked(chunks, status=200, headers=(("Content-Type", "application/json"),), ext=(), trailers=()):
    """A chunked answer: chunks (bytes) in turn, ext[i] (b";name=value") after the i-th size
    line when given, then the last chunk and the trailers ((name, value) pairs)."""
    out = head(status, list(headers) + [("Transfer-Encoding", "chunked")])
    for i, c in enumerate(chunks):
        out += b"%x" % len(c) + (ext[i] if i < len(ext) else b"") + b"\r\n" + c + b"\r\n"
    out += b"0\r\n" + b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in trailers) + b"\r\n"
    return out


def trickle(data, size=1, pause=0.0):
    """data as actions: writes of `size` bytes with Pause(pause) between them."""
    out = []
    for i in range(0, len(data), size):
        if i and pause:
            out.append(Pause(pause))
        out.append(data[i:i + size])
    return out


# ---- requests --------------------------------------------------------------------------------

class Request(dict):
    """One request as read: method, target, version, headers ((name, value) pairs as sent),
    body (bytes, de-chunked), raw (the bytes as they came), conn (the connection's index)."""

    def header_values(self, name):
        return [v for k, v in self["headers"] if k.lower() == name.lower()]

    def header(self, name):
        """The one value of a header; AssertionError when it is absent or repeated."""
        vals = self.header_values(name)
        assert len(vals) == 1, f"header {name}: {vals} in {self['raw'][:2000]!r}"
        return vals[0]


class _Reader:
    """Buffered reads from one socket; None at EOF, a reset, or the server stopping."""

    def __init__(self, sock, record):
        self.sock, self.record, self.buf = sock, record, bytearray()

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except (OSError, ValueError):
            return False
        if not data:
            return False
        self.buf += data
        self.record += data
        return True

    def until(self, mark, limit):
        while True:
            i = self.buf.find(mark)
            if i >= 0:
                out = bytes(self.buf[:i + len(mark)])
                del self.buf[:i + len(mark)]
                return out
            if len(self.buf) > limit or not self._fill():
                return None

    def exactly(self, n):
        while len(self.buf) < n:
            if not self._fill():
                return None
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


def _read_request(rd):
    """The next request on the connection, or None (EOF, or one that cannot be read)."""
    start = len(rd.record) - len(rd.buf)
    head_bytes = rd.until(b"\r\n\r\n", MAX_HEAD)
    if head_bytes is None:
        return None
    lines = head_bytes[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    headers = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:] if ":" in line]
    req = Request(method=parts[0], target=parts[1], version=parts[2], headers=headers)
    te = ",".join(req.header_values("Transfer-Encoding")).lower()
    if "chunked" in te:
        body = bytearray()
        while True:
            line = rd.until(b"\r\n", 4096)
            try:
                size = int(line.split(b";")[0], 16)
            except (AttributeError, ValueError):
                return None
            if size == 0:
                while (line := rd.until(b"\r\n", 4096)) != b"\r\n":   # trailers, then an empty line
                    if line is None:
                        return None
                break
            chunk = rd.exactly(size + 2) if len(body) + size <= MAX_BODY else None
            if chunk is None:
                return None
            body += chunk[:-2]
        req["body"] = bytes(body)
    else:
        lengths = req.header_values("Content-Length")
        n = int(lengths[0]) if lengths and lengths[0].isdigit() else 0
        if n > MAX_BODY:
            return None
        body = rd.exactly(n)
        if body is None:
            return None
        req["body"] = body
    req["raw"] = bytes(rd.record[start:len(rd.record) - len(rd.buf)])
    return req


# ---- the server ------------------------------------------------------------------------------

def _peer_cn(sock):
    try:
        cert = sock.getpeercert()
    except (ValueError, OSError, AttributeError):
        return None
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


class RawUpstream:
    """The scripted upstream. tls: {"cert", "key", "client_ca"} (mutual TLS, a client
    certificate from client_ca required), or None for plain TCP. Every public method is
    thread-safe."""

    def __init__(self, tls=None, host="127.0.0.1", port=0):
        self.host = host
        self._tls = None
        if tls is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.minimum_version = ssl.TLSVersion.TLSv1_2
            self._tls.load_cert_chain(tls["cert"], tls["key"])
            self._tls.verify_mode = ssl.CERT_REQUIRED
            self._tls.load_verify_locations(tls["client_ca"])
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server((host, port), backlog=64)
        self._listener.settimeout(0.1)      # the accept loop looks at _stop this often
        self._threads = []
        self._live = set()
        self._conns = []
        self._script = []
        self._otherwise = None

    @property
    def port(self):
        return self._listener.getsockname()[1]

    @property
    def url(self):
        return f"{'https' if self._tls else 'http'}://{self.host}:{self.port}"

    def script(self, *conns, otherwise=None):
        """The Conn of each next accepted connection in turn, and the one of any after them
        (None: such a connection is closed at its first request, unanswered)."""
        with self._lock:
            self._script = list(conns)
            self._otherwise = otherwise
        return self

    def start(self):
        t = threading.Thread(target=self._accept_loop, name="rawhttp-accept", daemon=True)
        self._threads.append(t)
        t.start()
        return self

    def stop(self):
        """Stops accepting, wakes every pause, read and hang, closes every connection (the
        gateway sees EOF) and joins the threads. Returns the threads still alive (none)."""
        self._stop.set()
        with self._lock:
            live = list(self._live)
        for s in live:
            try:
                socket.socket.shutdown(s, socket.SHUT_RDWR)   # the fd itself, under any TLS layer
            except OSError:
                pass
        for t in list(self._threads):
            t.join(JOIN_TIMEOUT)
        self._listener.close()
        return [t for t in self._threads if t.is_alive()]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- what tests look at ----

    @property
    def connections(self):
        """One dict per accepted connection, in accept order: index, peer_cn, received (every
        byte read), requests (Request), answered (replies written in full), tls_error, closed
        ("server", "peer" or None while open)."""
        with self._lock:
            return [dict(c, requests=list(c["requests"]), received=bytes(c["received"])) for c in self._conns]

    @property
    def requests(self):
        """Every request read, over all connections, in the order they were read."""
        with self._lock:
            return sorted((r for c in self._conns for r in c["requests"]), key=lambda r: r["seq"])

    # ---- machinery ----

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                sock, _addr = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # each write its own segment
            with self._lock:
                idx = len(self._conns)
                plan = self._script[idx] if idx < len(self._script) else self._otherwise
                rec = {"index": idx, "peer_cn": None, "received": bytearray(), "requests": [],
                       "answered": 0, "tls_error": None, "closed": None}
                self._conns.append(rec)
                self._live.add(sock)
            t = threading.Thread(target=self._serve, args=(sock, plan or Conn(), rec),
                                 name=f"rawhttp-conn-{idx}", daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, sock, plan, rec):
        raw = sock
        try:
            if plan.mute:
                self._stop.wait()
                return
            if self._tls is not None:
                sock.settimeout(HANDSHAKE_TIMEOUT)
                try:
                    sock = self._tls.wrap_socket(sock, server_side=True)
                except (OSError, ValueError) as e:
                    with self._lock:
                        rec["tls_error"] = str(e)
                    return
                sock.settimeout(None)
                # wrap_socket detached raw: from now on the fd to shut down is the TLS socket's.
                with self._lock:
                    self._live.discard(raw)
                    self._live.add(sock)
                    rec["peer_cn"] = _peer_cn(sock)
                raw = sock
            rd = _Reader(sock, rec["received"])
            n = 0
            while not self._stop.is_set():
                req = _read_request(rd)
                if req is None:
                    with self._lock:
                        rec["closed"] = rec["closed"] or "peer"
                    return
                with self._lock:
                    req["conn"] = rec["index"]
                    req["seq"] = sum(len(c["requests"]) for c in self._conns)
                    rec["requests"].append(req)
                answer = plan.reply_for(n)
                n += 1
                if answer is None or not self._act(sock, answer, rec):
                    return
                with self._lock:
                    rec["answered"] += 1
        finally:
            with self._lock:
                self._live.discard(raw)
                rec["closed"] = rec["closed"] or "server"
            try:
                sock.close()
            except OSError:
                pass

    def _act(self, sock, answer, rec):
        """Plays one reply. False when the connection is over (closed, hung, or gone)."""
        for act in [answer] if isinstance(answer, bytes) else answer:
            if isinstance(act, Pause):
                if self._stop.wait(act.seconds):
                    return False
            elif act is HANG:
                self._stop.wait()
                return False
            elif act is CLOSE or act is DROP:
                if act is CLOSE and isinstance(sock, ssl.SSLSocket):
                    try:
                        sock.settimeout(0.1)     # ours is sent at once; then unwrap waits for the peer's
                        sock.unwrap()
                    except (OSError, ValueError):
                        pass
                with self._lock:
                    rec["closed"] = "server"
                try:
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass
                return False
            else:
                try:
                    sock.sendall(act)
                except (OSError, ValueError):
                    with self._lock:
                        rec["closed"] = "peer"
                    return False
        return True

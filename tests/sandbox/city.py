"""city.py: a simulated city dossier system endpoint, the upstream of queue-mode deliveries.

This module owns the sandbox city that payment callbacks (and other queued messages) are
delivered to. It reuses the DVCQG sandbox's machinery (mTLS listener demanding a client
certificate from the client CA, threads, connection tracking, controls): only what it answers
differs. It records every delivery it receives and applies each `Idempotency-Key` ONCE, counting
raw deliveries and applied ones, the way a real receiver must for exactly-once to hold.

Controls (thread-safe): control(fail_status=503, fail_times=None, delay_ms=0), down() / up()
(stop listening: the gateway sees connection refused), reset().

In-process use (tests):
    city = CitySandbox(port=0, cert=..., key=..., client_ca=...).start()
    city.url; city.deliveries; city.applied; city.down(); city.up(); city.stop()

Standalone (demo):
    /usr/bin/python3 tests/sandbox/city.py --port 9444 --cert C --key K --client-ca CA [--verbose]

Endpoints (the gateway's upstream url is https://HOST:PORT/city):
    POST /city/sync         -> 200 {"status": "ok"} (a sync call; nothing applied)
    POST /city/<anything>   -> 200 {"status": "applied" | "duplicate", "key": ...};
                               400 without an Idempotency-Key.

Python 3.11 standard library only.
"""

import argparse
import json
import sys
import time

from dvcqg import DvcqgSandbox
from mtls import _Server, say, serve_until_signal

CITY_BASE = "/city"


class CitySandbox(DvcqgSandbox):
    """The simulated city endpoint. Every public method is thread-safe."""

    name = "city"

    def __init__(self, port=0, cert=None, key=None, client_ca=None, host="127.0.0.1", printer=None):
        super().__init__(port=port, cert=cert, key=key, client_ca=client_ca, host=host, printer=printer)
        self._port = self._server.server_address[1]
        self._is_down = False

    @property
    def url(self):
        return f"https://{self.host}:{self._port}{CITY_BASE}"

    @property
    def port(self):
        return self._port

    # ---- what tests look at --------------------------------------------------------------

    @property
    def deliveries(self):
        """Every delivery received (raw, redeliveries included), oldest first: dicts with path,
        headers (lower-case names), json, raw, time, peer_cn, status (the answer's)."""
        with self._lock:
            return list(self._received)

    @property
    def applied(self):
        """Idempotency-Key -> the JSON body first applied with it."""
        with self._lock:
            return dict(self._applied)

    def counts(self):
        """(raw deliveries, applied keys)."""
        with self._lock:
            return len(self._received), len(self._applied)

    def wait_applied(self, n, timeout=30.0):
        """Waits until at least n keys were applied; returns the applied dict."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.applied) >= n:
                break
            time.sleep(0.05)
        return self.applied

    # ---- controls ------------------------------------------------------------------------

    def down(self):
        """Stops listening and drops open connections: the next delivery is refused."""
        with self._lock:
            if self._is_down:
                return
            self._is_down = True
        super().stop()
        self._stopping.clear()

    def up(self):
        """Listens again on the same port."""
        with self._lock:
            if not self._is_down:
                return
            self._is_down = False
        self._server = _Server((self.host, self._port), self)
        self.start()

    def stop(self):
        with self._lock:
            if self._is_down:
                return      # nothing listens: down() already stopped it
        super().stop()

    # ---- internals -----------------------------------------------------------------------

    def _reset_locked(self):
        super()._reset_locked()
        self._applied = {}

    def _serve(self, h):
        body = h.read_body()
        path = h.path.split("?", 1)[0]
        try:
            doc = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            doc = None
        key = h.headers.get("Idempotency-Key")
        rec = self._record(h, path, body, json=doc, status=None)
        with self._lock:
            ctl, fail = self._controls_for_request_locked()
        if ctl["delay_ms"] and self._stopping.wait(ctl["delay_ms"] / 1000.0):
            h.drop()
            return
        if fail is not None:
            status, answer = fail, {"status": "failed", "message": "city sandbox told to fail"}
        elif body is None or not path.startswith(CITY_BASE) or h.command != "POST":
            status, answer = 400, {"status": "refused", "message": "POST /city/... only"}
        elif path == CITY_BASE + "/sync":
            status, answer = 200, {"status": "ok"}      # a sync call: answered, nothing applied
        elif not key:
            status, answer = 400, {"status": "refused", "message": "Idempotency-Key header missing"}
        else:
            with self._lock:
                first = key not in self._applied
                if first:
                    self._applied[key] = doc
            status, answer = 200, {"status": "applied" if first else "duplicate", "key": key}
        with self._lock:
            rec["status"] = status
        self._print(f"{rec['peer_cn']} {h.command} {path} key={key} -> {status} {answer['status']}")
        h.send_json(status, answer)


def main(argv=None):
    p = argparse.ArgumentParser(description="Simulated city dossier system (delivery endpoint).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9444)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--client-ca", required=True)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)

    srv = CitySandbox(port=args.port, cert=args.cert, key=args.key, client_ca=args.client_ca,
                      host=args.host, printer=say if args.verbose else None)
    return serve_until_signal(srv, f"city sandbox: listening on {srv.url}")

if __name__ == "__main__":
    sys.exit(main())

"""ops.py: what the operations tests (test_3x_*) need besides harness.py: the admin endpoints,
reloads (SIGHUP or POST /admin/reload) waited for through the audit log, a Prometheus
text-format parser, extra certificates signed by the test CA, and mapping variants."""

import http.client
import json
import re
import signal
import subprocess
import time

from harness import MAPPINGS, to_yaml

WAIT = 30.0     # generous bound for anything asynchronous (ASan, two shared cores)


def admin(gw, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", gw.admin_port, timeout=WAIT)
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read()
    finally:
        conn.close()


def audits(gw, event):
    return [d for d in gw.log_lines() if d.get("type") == "audit" and d.get("event") == event]


def write_config(gw, config):
    gw.config = config
    gw.config_path.write_text(to_yaml(config))


def reload(gw, how="signal"):
    """Asks for a reload and waits for its audit line; returns it (outcome accepted|refused)."""
    before = len(audits(gw, "reload"))
    if how == "signal":
        gw.proc.send_signal(signal.SIGHUP)
    else:
        admin(gw, "POST", "/admin/reload")
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        lines = audits(gw, "reload")
        if len(lines) > before:
            return lines[before]
        time.sleep(0.05)
    raise AssertionError(f"no reload audit line within {WAIT}s:\n{gw.stderr_tail()}")


# ---- Prometheus text format (exposition format 0.0.4) --------------------------------------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def parse_prometheus(text):
    """{(name, frozenset(labels.items())): value}; raises on any line that is not valid."""
    out, types = {}, {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"line {n} is not a sample: {line!r}"
        name, labels_text, value = m.groups()
        labels, pos = {}, 0
        while labels_text and pos < len(labels_text):
            lm = _LABEL.match(labels_text, pos)
            assert lm, f"line {n}: bad labels {labels_text!r}"
            labels[lm.group(1)] = re.sub(r'\\(.)', lambda x: {"n": "\n"}.get(x.group(1), x.group(1)),
                                         lm.group(2))
            pos = lm.end()
        key = (name, frozenset(labels.items()))
        assert key not in out, f"line {n}: sample repeated: {line!r}"
        out[key] = float(value)
        base = re.sub(r'_(bucket|sum|count)$', "", name)
        assert name in types or base in types, f"line {n}: {name} has no # TYPE"
    return out


def metric(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def metrics(gw):
    status, ctype, body = admin(gw, "GET", "/metrics")
    assert status == 200, body
    assert ctype.startswith("text/plain"), ctype
    return parse_prometheus(body.decode("utf-8"))


# ---- certificates and mappings -------------------------------------------------------------------

def sign_cert(pki, name, cn, days=90, eku="serverAuth", san="DNS:localhost, IP:127.0.0.1"):
    """A new key and certificate NAME.key/NAME.crt in the PKI folder, signed by the test CA."""
    d = pki.dir
    ext = d / f"{name}.ext"
    ext.write_text(f"basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n"
                   f"extendedKeyUsage = {eku}\nsubjectAltName = {san}\n")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, timeout=WAIT)  # noqa: E731
    run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-out", str(d / f"{name}.key"))
    run("openssl", "req", "-new", "-key", str(d / f"{name}.key"), "-subj", f"/CN={cn}",
        "-out", str(d / f"{name}.csr"))
    run("openssl", "x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.crt"),
        "-CAkey", str(d / "ca.key"), "-set_serial", "0x" + __import__("secrets").token_hex(16),
        "-days", str(days), "-sha256", "-extfile", str(ext), "-out", str(d / f"{name}.crt"))
    return str(d / f"{name}.crt"), str(d / f"{name}.key")


def sync_mapping_variant(path, version):
    """Writes mappings/dvcqg/dossier-sync.yaml to PATH, its answer also saying {"version":
    VERSION}, without its examples (they live next to the original). Atomic (rename), as an
    operator's deploy tool writes it."""
    text = (MAPPINGS / "dossier-sync.yaml").read_text()
    text = text.split("\nexamples:", 1)[0]
    anchor = "    message:  { from: message, type: string, default: \"\" }\n"
    assert anchor in text, "the sync mapping's response changed: update sync_mapping_variant"
    text = text.replace(anchor, anchor + f"    version:  {{ value: \"{version}\" }}\n")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def set_sync_mapping(gw, path):
    cfg = json.loads(json.dumps(gw.config, default=str))
    cfg["routes"]["dvcqg.dossier.sync"]["mapping"] = str(path)
    write_config(gw, cfg)

#!/usr/bin/python3
"""bench/run.py: lienthong side by side with nginx, nginx + njs and a Node.js gateway.

Owns the whole benchmark run: the payload, the certificates, starting and stopping every server
it measures (only the processes it started, by pid), the correctness checks, the timed wrk runs
and their CPU / memory / noise accounting, and the report (bench/results.md, bench/results.png,
bench/results.json). `make bench` runs it; BENCH_QUICK=1 runs one rep of 3 s per point;
BENCH_ONLY=id,id keeps only those contenders.

Design (shared/BENCH.md): wrk -t1 pinned to CPU 0, every server (the stub included) pinned to
CPU 1; CPU per request of each gateway from /proc/<pid>/stat deltas; ratios computed within each
rep and reported as median [min-max]; foreign CPU (all busy time minus ours) measured per run, and
a run where others took more than 10 % of a core is repeated (bounded), then marked noisy.

    bench/run.py                 the benchmark
    bench/run.py --profile SECS  perf (or callgrind) profile of lienthong under c=50 load
"""
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import http.client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
PEERS = os.path.join(BENCH, "peers")
LT = os.path.join(ROOT, "lienthong")
MAPBIN = os.path.join(ROOT, "build", "release", "bench", "map")
QUICK = os.environ.get("BENCH_QUICK") == "1"
REPS = 1 if QUICK else 3
CONCS = (1, 50, 200)
DURATION = {1: 3, 50: 3, 200: 3} if QUICK else {1: 5, 50: 8, 200: 8}
NOISE_LIMIT = 0.10        # of one core
MAX_ATTEMPTS = 3
SESSION = "bench-session-0001"
TICK = os.sysconf("SC_CLK_TCK")

STUB_ANSWER = {"error_code": "0", "message": "Đồng bộ thành công", "result": {"accepted": 1, "rejected": 0}}
STUB_LOGIN = {"error_code": "0", "message": "Đăng nhập thành công", "session": SESSION}


class BenchError(Exception):
    pass


def log(msg):
    print("bench: " + msg, flush=True)


def compact(doc):
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def ordered(text):
    """A JSON text as nested lists of pairs: equal only when keys, values and key order agree."""
    return json.loads(text, object_pairs_hook=lambda pairs: ("{}", pairs))


# ---- payload ---------------------------------------------------------------------------------

def make_dossier():
    """The example dossier of mappings/dvcqg enlarged to ~1.5 KB: more documents, fees and text."""
    with open(os.path.join(ROOT, "mappings/dvcqg/examples/dossier-accepted.json"), encoding="utf-8") as f:
        doc = json.load(f)
    d = doc["dossiers"][0]
    d["receipt_no"] = "BN-000.30.21.H26-250115-0001"
    d["summary"] = ("Đăng ký hộ kinh doanh cá thể tại số 12 phố Phan Đình Phùng, phường Ba Đình, "
                    "ngành nghề: bán lẻ thực phẩm và đồ uống")
    d["note"] = "Hồ sơ đầy đủ, đã kiểm tra bản gốc giấy tờ tùy thân"
    d["documents"].append({"id": "1002", "name": "Bản sao căn cước công dân của chủ hộ.pdf",
                           "url": "https://dichvucong.hanoi.gov.vn/documents/1002.pdf", "deleted": False})
    d["documents"].append({"id": "1003", "name": "Hợp đồng thuê địa điểm kinh doanh.pdf",
                           "url": "https://dichvucong.hanoi.gov.vn/documents/1003.pdf", "deleted": False})
    d["fees"].append({"code": "PH02", "name": "Phí cung cấp thông tin", "amount": 20000, "kind": "fee"})
    d["fees"].append({"code": "LP03", "name": "Lệ phí cấp bản sao", "amount": 5000, "kind": "charge"})
    return compact(doc).encode("utf-8")


# ---- processes -------------------------------------------------------------------------------

def proc_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])     # utime + stime
    except (OSError, IndexError):
        return 0


def proc_status(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])      # kB
    except OSError:
        pass
    return 0


def children(pid):
    out = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def cpu_busy():
    """Busy ticks of the whole machine that a process can own (user+nice+system) and steal."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[7]


def wait_port(port, proc, name, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise BenchError(f"{name} exited at start (status {proc.returncode}); see its log")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"{name} does not listen on {port} after {timeout:.0f} s")


class Server:
    """One server under test, started pinned to CPU 1; stopped by its own pid only."""

    def __init__(self, name, argv, port, tmp, env=None):
        self.name, self.argv, self.port, self.tmp, self.env = name, argv, port, tmp, env
        self.proc = None

    def start(self):
        logf = open(os.path.join(self.tmp, self.name + ".log"), "ab")
        env = dict(os.environ, **(self.env or {}))
        self.proc = subprocess.Popen(["taskset", "-c", "1"] + self.argv, stdout=logf, stderr=logf,
                                     stdin=subprocess.DEVNULL, env=env, cwd=self.tmp)
        logf.close()
        wait_port(self.port, self.proc, self.name)

    def pids(self):
        return [self.proc.pid] + children(self.proc.pid) if self.proc else []

    def workers(self):
        """The processes that serve requests: nginx's workers, else the process itself."""
        return children(self.proc.pid) if self.name.startswith("nginx") else [self.proc.pid]

    def ticks(self):
        return sum(proc_ticks(p) for p in self.pids())

    def hwm_kb(self):
        return max([proc_status(p, "VmHWM") for p in self.workers()] or [0])

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def render(template, out, subst):
    """Writes template to out with every @NAME@ replaced by subst[NAME]."""
    with open(template, encoding="utf-8") as f:
        text = f.read()
    for k, v in subst.items():
        text = text.replace("@" + k + "@", v)
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)


def nginx_server(name, template, port, tmp, subst):
    prefix = os.path.join(tmp, name)
    os.makedirs(prefix, exist_ok=True)
    conf = os.path.join(prefix, "nginx.conf")
    render(template, conf, subst)
    return Server(name, ["nginx", "-p", prefix + "/", "-c", conf, "-e", os.path.join(prefix, "error.log"),
                         "-g", "daemon off;"], port, tmp)


# ---- contenders ------------------------------------------------------------------------------

class Contender:
    def __init__(self, cid, label, server, url, body, expect_answer, expect_upstream, stub_port,
                 ctype="application/json", note="", key_order=True, up_path="/adapter"):
        self.cid, self.label, self.server, self.url, self.body = cid, label, server, url, body
        self.key_order, self.up_path = key_order, up_path
        self.expect_answer, self.expect_upstream = expect_answer, expect_upstream
        self.stub_port, self.ctype, self.note = stub_port, ctype, note


def lt_map(mapping, doc, response=False, var=None):
    argv = [LT, "map", mapping, "-i", doc]
    if response:
        argv.append("--response")
    if var:
        argv += ["--var", var]
    r = subprocess.run(argv, capture_output=True)
    if r.returncode != 0:
        raise BenchError(f"lienthong map {mapping} failed: {r.stderr.decode(errors='replace')}")
    return r.stdout


def vnpt_case():
    """The VNPT receipt mapping (JSON -> SOAP) and its first example with both directions, or None
    with the reason. Written against the example convention of mappings/dvcqg."""
    import yaml
    folder = os.path.join(ROOT, "mappings", "vnpt-invoice")
    if not os.path.isdir(folder):
        return None, "mappings/vnpt-invoice/ does not exist on this branch yet (issue 3, branch issue3-families)"
    files = sorted(f for f in os.listdir(folder) if f.endswith(".yaml"))
    files = [f for f in files if "receipt" in f] or files
    for fname in files:
        path = os.path.join(folder, fname)
        with open(path, encoding="utf-8") as f:
            m = yaml.safe_load(f)
        for ex in m.get("examples") or []:
            rq, rs = ex.get("request") or {}, ex.get("response") or {}
            if rq.get("in") and rq.get("expect") and rs.get("in") and rs.get("expect"):
                base = os.path.dirname(path)
                return {"mapping": path, "req": os.path.join(base, rq["in"]), "up": os.path.join(base, rq["expect"]),
                        "answer": os.path.join(base, rs["in"]), "expect": os.path.join(base, rs["expect"]),
                        "vars": ex.get("vars") or {}}, ""
    return None, "no mapping in mappings/vnpt-invoice/ has an example with both a request and a response"


def build_contenders(tmp, certs):
    dossier = make_dossier()
    body = os.path.join(tmp, "dossier.json")
    with open(body, "wb") as f:
        f.write(dossier)
    answer = os.path.join(tmp, "stub-answer.json")
    with open(answer, "w", encoding="utf-8") as f:
        f.write(compact(STUB_ANSWER))
    mapping = os.path.join(ROOT, "mappings/dvcqg/dossier-sync.yaml")
    up_body = lt_map(mapping, body, var="auth.token=" + SESSION)
    city_answer = lt_map(mapping, answer, response=True)
    raw_answer = compact(STUB_ANSWER).encode("utf-8")
    subst = {"CERTS": certs, "PEERS": PEERS, "SESSION": SESSION, "TMP": tmp, "ROOT": ROOT,
             "ANSWER": compact(STUB_ANSWER), "LOGIN": compact(STUB_LOGIN)}

    vnpt, vnpt_note = vnpt_case()
    subst.update(VNPT_ROUTE="", VNPT_UPSTREAM="", VNPT_ANSWER="")
    if vnpt:
        subst["VNPT_ROUTE"] = ("  vnpt:\n    listener: plain\n    match: { method: POST, path: /v1/vnpt/receipts }\n"
                               f"    mapping: {vnpt['mapping']}\n    upstream: stub_vnpt\n")
        subst["VNPT_UPSTREAM"] = "  stub_vnpt: { url: http://127.0.0.1:19001/vnpt }\n"
        with open(vnpt["answer"], encoding="utf-8") as f:     # an nginx '...' string: no ' or $ unescaped
            subst["VNPT_ANSWER"] = f.read().replace("\\", "\\\\").replace("'", "\\'").replace("$", "${dollar}")
    lt_conf = os.path.join(tmp, "lienthong.yaml")
    render(os.path.join(BENCH, "conf", "lienthong.yaml"), lt_conf, subst)
    r = subprocess.run([LT, "check", "-c", lt_conf], capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError("lienthong check of the bench config failed:\n" + r.stdout + r.stderr)

    stub = nginx_server("nginx-stub", os.path.join(BENCH, "conf", "stub.conf"), 19001, tmp, subst)
    record = nginx_server("nginx-stub-record", os.path.join(BENCH, "conf", "stub-record.conf"), 19001, tmp, subst)
    proxy = nginx_server("nginx-proxy", os.path.join(PEERS, "nginx-proxy.conf"), 19101, tmp, subst)
    njs = nginx_server("nginx-njs", os.path.join(PEERS, "njs.conf"), 19103, tmp, subst)
    node = Server("node", ["node", os.path.join(PEERS, "node-gateway.mjs"), "19104",
                           "http://127.0.0.1:19001/adapter"], 19104, tmp)
    lt = Server("lienthong", [LT, "run", "-c", lt_conf], 19105, tmp)
    path = "/v1/dvcqg/dossiers"
    cs = [
        Contender("stub", "(1) stub direct", stub, "http://127.0.0.1:19001/adapter", body, raw_answer, None, None,
                  note="the limit of this machine: wrk against the stub, no gateway"),
        Contender("nginx", "(2) nginx proxy_pass", proxy, "http://127.0.0.1:19101" + path, body, raw_answer,
                  dossier, 19001, note="passthrough, upstream keep-alive, no mapping"),
        Contender("njs", "(3) nginx + njs map", njs, "http://127.0.0.1:19103" + path, body, city_answer,
                  up_body, 19001, note="hand-written mapping (bench/peers/dossier_map.mjs), subrequest to keep-alive proxy_pass; "
                  "njs 0.7.9 does not keep the insertion order of object keys, so its output is checked "
                  "equal as JSON values, not in the field order of FORMATS.md §2.4", key_order=False),
        Contender("node", "(4) Node.js gateway", node, "http://127.0.0.1:19104" + path, body, city_answer,
                  up_body, 19001, note="node http + keep-alive http.Agent, same hand-written mapping"),
        Contender("lt", "(5) lienthong dossier", lt, "http://127.0.0.1:19105" + path, body, city_answer,
                  up_body, 19001, note="mappings/dvcqg/dossier-sync.yaml, plain listener, http upstream"),
        Contender("lt-curl", "(5b) lienthong dossier via libcurl", lt, "http://127.0.0.1:19105" + path + "-via-curl",
                  body, city_answer, up_body, 19001,
                  note="(5) with `client: curl`: the upstream call through SPEC's libcurl instead of the native client"),
    ]
    skipped = []
    if vnpt:
        vbody = os.path.join(tmp, "vnpt-request.json")
        shutil.copy(vnpt["req"], vbody)
        var = next(iter(vnpt["vars"].items()), None)
        exp_up = lt_map(vnpt["mapping"], vnpt["req"], var=f"{var[0]}={var[1]}" if var else None)
        exp_ans = lt_map(vnpt["mapping"], vnpt["answer"], response=True)
        cs.append(Contender("lt-vnpt", "(6) lienthong VNPT receipt", lt, "http://127.0.0.1:19105/v1/vnpt/receipts",
                            vbody, exp_ans, exp_up, 19001, note="JSON -> SOAP with a rendered XML document",
                            up_path="/vnpt"))
    else:
        skipped.append(("(6) lienthong VNPT receipt", vnpt_note))
    cs += [
        Contender("nginx-tls", "(7a) nginx TLS + mTLS up", proxy, "https://127.0.0.1:19102" + path, body,
                  raw_answer, dossier, 19443, note="TLS listener (no client cert), mutual TLS keep-alive upstream"),
        Contender("lt-tls", "(7b) lienthong TLS + mTLS up", lt, "https://127.0.0.1:19106" + path, body,
                  city_answer, up_body, 19443, note="TLS listener with client_auth: none, mutual TLS upstream"),
    ]
    only = [x for x in os.environ.get("BENCH_ONLY", "").split(",") if x]
    if only:
        unknown = set(only) - {c.cid for c in cs}
        if unknown:
            raise BenchError(f"BENCH_ONLY names unknown contenders {sorted(unknown)} "
                             f"(known: {', '.join(c.cid for c in cs)})")
        cs = [c for c in cs if c.cid in only]
    return stub, record, cs, skipped


# ---- correctness -----------------------------------------------------------------------------

def post(url, body, ctype, certs):
    m = re.match(r"(https?)://([^:/]+):(\d+)(/.*)", url)
    if m.group(1) == "https":
        ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
        conn = http.client.HTTPSConnection(m.group(2), int(m.group(3)), context=ctx, timeout=10)
    else:
        conn = http.client.HTTPConnection(m.group(2), int(m.group(3)), timeout=10)
    with open(body, "rb") as f:
        conn.request("POST", m.group(4), f.read(), {"Content-Type": ctype})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def same(a, b, is_json, key_order=True):
    if is_json:
        try:
            return ordered(a) == ordered(b) if key_order else json.loads(a) == json.loads(b)
        except ValueError:
            return False
    return a.strip() == b.strip()


def settled_size(path):
    """The record log's size once nginx has stopped appending to it (it writes a request's line
    after the answer, so a check must not start counting before the previous line is in)."""
    size, deadline = -1, time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = os.path.getsize(path) if os.path.exists(path) else 0
        if now == size:
            break
        size = now
    return size


def check_contender(c, record_log, certs):
    before = settled_size(record_log)
    status, data = post(c.url, c.body, c.ctype, certs)
    if status != 200:
        raise BenchError(f"{c.label}: answered HTTP {status} to the dossier: {data[:300]!r}")
    is_json = c.expect_answer.lstrip()[:1] in (b"{", b"[")
    if not same(data, c.expect_answer, is_json, c.key_order):
        raise BenchError(f"{c.label}: wrong answer\n  got:      {data[:400]!r}\n  expected: {c.expect_answer[:400]!r}")
    after = settled_size(record_log)
    if c.expect_upstream is None:
        return
    with open(record_log, "rb") as f:
        f.seek(before)
        lines = [json.loads(line) for line in f.read(after - before).splitlines() if line.strip()]
    bodies = [ln["body"].encode("utf-8") for ln in lines if ln["uri"] == c.up_path]
    if len(bodies) != 1:
        raise BenchError(f"{c.label}: the stub saw {len(bodies)} calls to {c.up_path}, expected 1")
    up_json = c.expect_upstream.lstrip()[:1] in (b"{", b"[")
    if not same(bodies[0], c.expect_upstream, up_json, c.key_order):
        raise BenchError(f"{c.label}: the stub saw the wrong body\n  got:      {bodies[0][:600]!r}\n"
                         f"  expected: {c.expect_upstream[:600]!r}")


# ---- timed runs ------------------------------------------------------------------------------

def run_wrk_once(c, stub, conc, secs):
    servers = [c.server] + ([stub] if c.server is not stub else [])
    t0 = {s.name: s.ticks() for s in servers}
    busy0 = cpu_busy()
    env = dict(os.environ, BENCH_BODY=c.body, BENCH_CTYPE=c.ctype)
    argv = ["taskset", "-c", "0", "wrk", "-t1", f"-c{conc}", f"-d{secs}s", "--timeout", "5s",
            "-s", os.path.join(BENCH, "lua", "post.lua"), c.url]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = proc.communicate(timeout=secs + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise BenchError(f"{c.label}: wrk did not finish within {secs + 30} s")
    busy1 = cpu_busy()
    t1 = {s.name: s.ticks() for s in servers}
    m = re.search(r"^RESULT (\{.*\})$", out.decode(errors="replace"), re.M)
    if proc.returncode != 0 or not m:
        raise BenchError(f"{c.label} c={conc}: wrk failed (status {proc.returncode}):\n{out.decode()}{err.decode()}")
    r = json.loads(m.group(1))
    errors = {k: r[k] for k in ("connect", "read", "write", "status", "timeout") if r[k]}
    if errors or r["requests"] == 0:
        raise BenchError(f"{c.label} c={conc}: wrk saw errors {errors or 'and no request'} "
                         f"(Non-2xx or socket errors fail the bench):\n{out.decode()}")
    wrk_ticks = (proc_ticks_self_children_delta())
    gw = t1[c.server.name] - t0[c.server.name]
    st = t1[stub.name] - t0[stub.name] if c.server is not stub else 0
    ours = gw + st + wrk_ticks
    elapsed = r["duration_us"] / 1e6
    foreign = max(0, busy1 - busy0 - ours) / TICK / elapsed       # in cores
    return {
        "rps": r["requests"] / elapsed, "requests": r["requests"], "p50_ms": r["p50"] / 1000,
        "p99_ms": r["p99"] / 1000, "mean_ms": r["mean"] / 1000,
        "cpu_ms_per_1k": gw / TICK * 1e6 / r["requests"],                 # ms per 1,000 requests = µs per request
        "stub_cpu_ms_per_1k": st / TICK * 1e6 / r["requests"],
        "wrk_cpu_core": wrk_ticks / TICK / elapsed, "foreign_core": foreign,
    }


_children_ticks = [0]


def proc_ticks_self_children_delta():
    """CPU ticks of children (wrk) reaped since the last call, from os.times()."""
    t = os.times()
    now = int(round((t.children_user + t.children_system) * TICK))
    d, _children_ticks[0] = now - _children_ticks[0], now
    return d


REPEAT_BUDGET = float(os.environ.get("BENCH_REPEAT_BUDGET", "60" if QUICK else "240"))
_repeat_spent = [0.0]


def timed(c, stub, conc, secs):
    """One measured point; repeated while others took more than NOISE_LIMIT of a core, at most
    MAX_ATTEMPTS times and while the run's repeat budget (seconds) lasts, so a machine that is busy
    all along cannot stretch `make bench` without bound; the least noisy attempt is kept."""
    best = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        proc_ticks_self_children_delta()
        r = run_wrk_once(c, stub, conc, secs)
        r["attempt"] = attempt
        if best is None or r["foreign_core"] < best["foreign_core"]:
            best = r
        if r["foreign_core"] <= NOISE_LIMIT or attempt == MAX_ATTEMPTS or _repeat_spent[0] >= REPEAT_BUDGET:
            break
        log(f"  {c.cid} c={conc}: foreign CPU {r['foreign_core'] * 100:.0f}% of a core, again")
        time.sleep(1)
        _repeat_spent[0] += secs + 1
    best["tries"] = attempt
    best["noisy"] = best["foreign_core"] > NOISE_LIMIT
    return best


# ---- main ------------------------------------------------------------------------------------

def versions():
    def cmd(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    def deb(pkg):
        return cmd(["dpkg-query", "-W", "-f=${Version}", pkg])

    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = f.readline().split()[1]
    return {
        "machine": f"{model}, {os.cpu_count()} CPUs, {int(mem) // 1024} MiB",
        "kernel": os.uname().release,
        "nginx": cmd(["nginx", "-v"]).replace("nginx version: ", ""),
        "njs": deb("libnginx-mod-http-js"),
        "node": cmd(["node", "--version"]),
        "wrk": cmd(["wrk", "-v"]).split(" [")[0],
        "lienthong": cmd([LT, "version"]) + " (" + cmd(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]) + ")",
        "libcurl": cmd(["pkg-config", "--modversion", "libcurl"]),
        "libevent": cmd(["pkg-config", "--modversion", "libevent"]),
        "openssl": cmd(["openssl", "version"]),
        "jansson": cmd(["pkg-config", "--modversion", "jansson"]),
    }


def map_rates(tmp):
    """bench/map (maps per second on one core) for the dossier and the VNPT receipt when present."""
    cases = [("DVCQG dossier (request)", os.path.join(ROOT, "mappings/dvcqg/dossier-sync.yaml"),
              os.path.join(tmp, "dossier.json"), []),
             ("DVCQG answer (response)", os.path.join(ROOT, "mappings/dvcqg/dossier-sync.yaml"),
              os.path.join(tmp, "stub-answer.json"), ["--response"])]
    vnpt, _ = vnpt_case()
    if vnpt:
        cases.append(("VNPT receipt (request)", vnpt["mapping"], vnpt["req"], []))
        cases.append(("VNPT answer (response)", vnpt["mapping"], vnpt["answer"], ["--response"]))
    rows = []
    for name, mapping, doc, extra in cases:
        r = subprocess.run(["taskset", "-c", "1", MAPBIN, mapping, doc, "1" if QUICK else "3"] + extra,
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise BenchError(f"bench/map {name}: {r.stderr}")
        rows.append(dict(json.loads(r.stdout), name=name))
    return rows


def main():
    if not os.access(LT, os.X_OK) or not os.access(MAPBIN, os.X_OK):
        raise BenchError("build first: make lienthong build/release/bench/map (or make bench)")
    tmp = tempfile.mkdtemp(prefix="lienthong-bench-")
    try:
        measure(tmp)
    except BenchError as e:
        raise BenchError(f"{e}\n(the work folder, with every server's log, is kept: {tmp})") from None
    shutil.rmtree(tmp, ignore_errors=True)


def measure(tmp):
    certs = os.path.join(tmp, "certs")
    subprocess.run([os.path.join(ROOT, "certs", "gen.sh"), certs], check=True, stdout=subprocess.DEVNULL)
    log(f"work folder {tmp}; {'QUICK: ' if QUICK else ''}{REPS} rep(s), c={CONCS}, {DURATION} s")
    stub, record, cs, skipped = build_contenders(tmp, certs)
    servers = []
    for c in cs:
        if c.server not in servers and c.server is not stub:
            servers.append(c.server)
    started = []
    t_start = time.monotonic()
    try:
        # correctness first, against the recording stub
        record.start()
        started.append(record)
        for s in servers:
            s.start()
            started.append(s)
        rec_log = os.path.join(tmp, "nginx-stub-record", "record.log")
        for c in cs:
            if c.server is stub:
                c.server = record
                check_contender(c, rec_log, certs)
                c.server = stub
            else:
                check_contender(c, rec_log, certs)
            log(f"correct: {c.label}")
        for s in reversed(started):
            s.stop()
        started = []
        # timing, against the plain stub; reps interleaved so drift hits every contender alike
        stub.start()
        started.append(stub)
        for s in servers:
            s.start()
            started.append(s)
        for c in cs:
            run_wrk_once(c, stub, 50, 2)     # warm-up (connections, JIT, caches); not recorded
        runs = {c.cid: {n: [] for n in CONCS} for c in cs}
        for rep in range(REPS):
            for c in cs:
                for n in CONCS:
                    r = timed(c, stub, n, DURATION[n])
                    runs[c.cid][n].append(r)
                    log(f"rep {rep + 1} {c.cid:9} c={n:<3} {r['rps']:9.0f} rps  p99 {r['p99_ms']:7.2f} ms  "
                        f"cpu {r['cpu_ms_per_1k']:6.1f} ms/1k  foreign {r['foreign_core'] * 100:3.0f}%"
                        f"{'  NOISY' if r['noisy'] else ''}")
        hwm = {c.cid: c.server.hwm_kb() for c in cs}
        stub_hwm = stub.hwm_kb()
    finally:
        for s in reversed(started):
            s.stop()
    maps = map_rates(tmp)
    elapsed = time.monotonic() - t_start
    import report
    report.write(BENCH, cs, skipped, runs, hwm, stub_hwm, maps, versions(), elapsed, QUICK, REPS, DURATION, REPEAT_BUDGET)
    log(f"done in {elapsed / 60:.1f} min: bench/results.md, bench/results.png")


if __name__ == "__main__":
    sys.path.insert(0, BENCH)
    try:
        if len(sys.argv) > 1 and sys.argv[1] == "--profile":
            import profile_lt
            profile_lt.main(sys.modules[__name__], int(sys.argv[2]) if len(sys.argv) > 2 else 10)
        else:
            main()
    except BenchError as e:
        print("bench: FAILED: " + str(e), file=sys.stderr)
        sys.exit(1)

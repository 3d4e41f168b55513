"""bench/profile_lt.py: where lienthong's CPU goes under load (`bench/run.py --profile SECS`).

Owns the profiling run: the stub and lienthong as bench/run.py starts them (same config, same
pinning), wrk at c=50 on the plain route and then on the TLS + mutual-TLS route, and a sampling
profile of the gateway process during each — `perf record` with DWARF call graphs when the
kernel lets perf count (`perf stat -e instructions true`), else valgrind --tool=callgrind on a
bounded run, of lienthong and, as the reference, of nginx passthrough (contenders 2 and 7a, one
process). Writes text reports under bench/profile/ (perf.data is left in the work folder)."""
import os
import shutil
import subprocess
import tempfile
import time


def perf_works():
    r = subprocess.run(["perf", "stat", "-e", "instructions", "true"], capture_output=True, text=True)
    return r.returncode == 0 and "not supported" not in r.stderr


def report(data, out, extra):
    with open(out, "w") as f:
        subprocess.run(["perf", "report", "-i", data, "--stdio", "--percent-limit", "0.5"] + extra,
                       stdout=f, stderr=subprocess.DEVNULL, check=True)


def profile_route(run, c, stub, lt, secs, outdir, tmp):
    """wrk on one route while perf samples lienthong; returns the wrk point's numbers."""
    data = os.path.join(tmp, f"perf-{c.cid}.data")
    perf = subprocess.Popen(["perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "-o", data,
                             "-p", str(lt.proc.pid), "--", "sleep", str(secs + 1)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    point = run.run_wrk_once(c, stub, 50, secs)
    perf.wait(timeout=secs + 120)
    report(data, os.path.join(outdir, f"{c.cid}-self.txt"), ["--no-children", "--sort", "dso,sym", "-g", "none"])
    report(data, os.path.join(outdir, f"{c.cid}-dso.txt"), ["--no-children", "--sort", "dso", "-g", "none"])
    report(data, os.path.join(outdir, f"{c.cid}-children.txt"), ["--children", "--sort", "sym", "-g", "none"])
    return point


def callgrind_route(run, c, stub, tmp, argv, ports, outdir, secs):
    """Without hardware counters: the serving process (argv, started under callgrind, listening on
    ports) with callgrind collecting only while wrk runs (start-up, configuration and shutdown are
    left out), c=1 for secs; Ir per request from wrk's count. The server is stopped afterwards."""
    out = os.path.join(tmp, f"callgrind-{c.cid}.out")
    srv = run.Server(f"{c.cid}-callgrind", ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                                           f"--callgrind-out-file={out}"] + argv, ports[0], tmp)
    srv.start()
    server, c.server = c.server, srv
    try:
        for port in ports[1:]:
            run.wait_port(port, srv.proc, srv.name, timeout=60)     # valgrind starts slowly
        run.run_wrk_once(c, stub, 1, 3)                   # warm-up: login, connections
        subprocess.run(["callgrind_control", "--instr=on", str(srv.proc.pid)], check=True, stdout=subprocess.DEVNULL)
        point = run.run_wrk_once(c, stub, 1, secs)
        subprocess.run(["callgrind_control", "--instr=off", str(srv.proc.pid)], check=True, stdout=subprocess.DEVNULL)
    finally:
        c.server = server
        srv.stop()
    shutil.copy(out, os.path.join(outdir, f"{c.cid}.callgrind.out"))    # for kcachegrind; git-ignored
    for mode, name in (("yes", "inclusive"), ("no", "self")):
        with open(os.path.join(outdir, f"{c.cid}-callgrind-{name}.txt"), "w") as f:
            f.write(f"# {c.label}: {point['requests']} requests at c=1 under callgrind\n")
            f.flush()                     # before callgrind_annotate writes to the same file
            subprocess.run(["callgrind_annotate", "--auto=no", f"--inclusive={mode}", "--threshold=99", out], stdout=f, check=True)
    return point


def main(run, secs):
    outdir = os.path.join(run.BENCH, "profile")
    os.makedirs(outdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="lienthong-profile-")
    certs = os.path.join(tmp, "certs")
    subprocess.run([os.path.join(run.ROOT, "certs", "gen.sh"), certs], check=True, stdout=subprocess.DEVNULL)
    stub, _record, cs, _skipped = run.build_contenders(tmp, certs)
    by_id = {c.cid: c for c in cs}
    lt = by_id["lt"].server
    started = []
    try:
        for s in (stub, lt):
            s.start()
            started.append(s)
        if perf_works():
            for cid in ("lt", "lt-tls"):
                run.run_wrk_once(by_id[cid], stub, 50, 2)   # warm-up: connections, login, caches
            for cid in ("lt", "lt-tls"):
                p = profile_route(run, by_id[cid], stub, lt, secs, outdir, tmp)
                run.log(f"profiled {cid}: {p['rps']:.0f} rps, {p['cpu_ms_per_1k']:.1f} µs CPU/request, "
                        f"foreign {p['foreign_core'] * 100:.0f}% of a core; reports in bench/profile/{cid}-*.txt")
        else:
            lt.stop()
            started.remove(lt)
            lt_argv = [run.LT, "run", "-c", os.path.join(tmp, "lienthong.yaml")]
            # nginx passthrough the same way, one process (no master), as the reference.
            ngx = by_id["nginx"].server
            ngx_argv = ngx.argv[:-1] + ["daemon off; master_process off;"]
            for cid, argv, ports in (("lt", lt_argv, (19105, 19106)), ("lt-curl", lt_argv, (19105, 19106)),
                                     ("lt-tls", lt_argv, (19105, 19106)),
                                     ("nginx", ngx_argv, (19101, 19102)), ("nginx-tls", ngx_argv, (19101, 19102))):
                p = callgrind_route(run, by_id[cid], stub, tmp, argv, ports, outdir, secs)
                run.log(f"perf cannot count on this machine; callgrind of {cid}: {p['requests']} requests, "
                        f"reports in bench/profile/{cid}-callgrind-*.txt")
    finally:
        for s in reversed(started):
            s.stop()
    shutil.rmtree(tmp, ignore_errors=True)

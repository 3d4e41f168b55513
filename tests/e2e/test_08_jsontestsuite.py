"""JSONTestSuite (conformance/README.md): every test_parsing file POSTed as the body of the
dossier route on one long-running gateway. One test per file class, each listing every
offender at once."""

import http.client
import re

import pytest

from harness import (JSON_SUITE, SYNC, KeepAliveClient, Launcher, new_sandbox)

# Accepted by RFC 8259 but refused on purpose: two parsers must never disagree about a signed
# message (duplicate keys, NUL inside strings). conformance/README.md lists exactly these.
REFUSED_ON_PURPOSE = {
    "y_object_duplicated_key.json",
    "y_object_duplicated_key_and_value.json",
    "y_object_escaped_null_in_key.json",
    "y_string_null_escape.json",
}


def suite(prefix):
    files = sorted(p for p in JSON_SUITE.glob(prefix + "*.json"))
    assert files, f"no {prefix}*.json in {JSON_SUITE}"
    return files


@pytest.fixture(scope="module")
def suite_gw(pki, tmp_path_factory):
    """One gateway for the whole suite; its limit is above the largest file (250 001 bytes)."""
    srv = new_sandbox(pki).start()
    launcher = Launcher(pki, tmp_path_factory.mktemp("jsonsuite"))
    try:
        gw = launcher.start(srv, max_body="1MiB")
        client = KeepAliveClient(gw, timeout=10)
        yield gw, client, srv
        client.close()
    finally:
        problems = launcher.close()
        srv.stop()
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)


def request_id(f):
    return "jts-" + re.sub(r"[^A-Za-z0-9_.-]", "-", f.stem)[:56]


def post_all(gw, client, files):
    """[(file name, Response or the exception)]. Stops early when the gateway died or hung
    three times, so that a broken gateway fails the test in seconds, not hours."""
    out, hangs = [], 0
    for i, f in enumerate(files):
        if not gw.alive() or hangs >= 3:
            why = "the gateway died" if not gw.alive() else "the gateway hung 3 times"
            out += [(g.name, RuntimeError(f"not sent: {why}")) for g in files[i:]]
            break
        try:
            r = client.send("POST", SYNC, f.read_bytes(), {"Content-Type": "application/json",
                                                           "X-Request-Id": request_id(f)})
        except TimeoutError as e:
            hangs += 1
            r = e
        except (OSError, http.client.HTTPException) as e:
            r = e
        out.append((f.name, r))
    return out


def envelope_problem(r):
    """None when r is a 400 with the JSON envelope, else what is wrong."""
    if isinstance(r, Exception):
        return f"no answer ({type(r).__name__}: {r})"
    if r.status != 400:
        return f"{r.status} {r.text()[:120]!r}"
    try:
        err = r.json()["error"]
        if not (isinstance(err["code"], str) and err["code"].startswith("json.")):
            return f"400 with code {err['code']!r}"
        if err["request_id"] != r.header("X-Request-Id"):
            return "400 whose request_id is not its X-Request-Id"
    except (ValueError, KeyError, TypeError):
        return f"400 without the JSON envelope: {r.text()[:120]!r}"
    return None


def still_alive(gw):
    assert gw.alive(), f"the gateway died:\n{gw.stderr_tail()}"
    assert gw.healthz()[0] == 200


def test_n_files_refused(suite_gw):
    gw, client, srv = suite_gw
    results = post_all(gw, client, suite("n_"))
    bad = [(name, p) for name, r in results if (p := envelope_problem(r))]
    assert not bad, f"{len(bad)} of {len(results)} n_ files not refused with 400 + envelope:\n" + \
        "\n".join(f"  {n}: {p}" for n, p in bad)
    assert srv.calls() == []
    still_alive(gw)


def test_y_files_accepted(suite_gw):
    gw, client, srv = suite_gw
    results = post_all(gw, client, suite("y_"))
    bad = []
    for name, r in results:
        if name in REFUSED_ON_PURPOSE:
            p = envelope_problem(r)
            if p:
                bad.append((name, "must be refused on purpose, got " + p))
        elif isinstance(r, Exception):
            bad.append((name, f"no answer ({type(r).__name__}: {r})"))
        elif r.status == 400 or r.status >= 500:
            bad.append((name, f"{r.status} {r.text()[:120]!r}"))
    assert not bad, f"{len(bad)} of {len(results)} y_ files mishandled:\n" + \
        "\n".join(f"  {n}: {p}" for n, p in bad)
    still_alive(gw)


def test_i_files_answered(suite_gw):
    gw, client, srv = suite_gw
    results = post_all(gw, client, suite("i_"))
    bad = [(name, f"{type(r).__name__}: {r}") for name, r in results if isinstance(r, Exception)]
    assert not bad, f"{len(bad)} of {len(results)} i_ files got no answer:\n" + \
        "\n".join(f"  {n}: {p}" for n, p in bad)
    still_alive(gw)

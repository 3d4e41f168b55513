"""The portal misbehaving: an expired session, a slow answer, no answer, a bad answer."""

import time

import pytest

from harness import (SYNC, assert_error, city_dossier, dossier_code, free_port)


def test_session_expiry_relogin_and_retry(gw, sandbox):
    r = gw.post(SYNC, city_dossier(dossier_code(1)))
    assert r.status == 200, r.text()
    assert sandbox.logins == 1
    old = sandbox.sessions[0]

    sandbox.control(expire_sessions=True)
    r = gw.post(SYNC, city_dossier(dossier_code(2)))
    assert r.status == 200, r.text()
    assert r.json()["accepted"] is True

    assert sandbox.logins == 2, "expected exactly one new login after the session expired"
    new = sandbox.sessions[1]
    assert new != old
    calls = sandbox.calls()
    assert [c["json"]["session"] for c in calls] == [old, old, new]
    assert calls[1]["answer"]["json"]["error_code"] == "-1"
    assert calls[2]["answer"]["json"]["error_code"] == "0"
    assert calls[2]["json"]["data"][0]["MaHoSo"] == dossier_code(2)
    # The retried call is the same call: only the session differs.
    retried = dict(calls[2]["json"], session=old)
    assert retried == calls[1]["json"]


def test_slow_upstream_times_out(gw, sandbox):
    assert gw.post(SYNC, city_dossier(dossier_code(1))).status == 200     # logged in
    sandbox.control(delay_ms=6000)                                          # total timeout is 3s
    t0 = time.monotonic()
    r = gw.post(SYNC, city_dossier(dossier_code(2)))
    elapsed = time.monotonic() - t0
    assert_error(r, 504, "upstream.timeout", route="dvcqg.dossier.sync")
    assert 2.5 <= elapsed <= 4.5, f"answered after {elapsed:.2f}s with a 3s upstream timeout"


def test_upstream_down(gateway):
    gw = gateway(upstream_url=f"https://127.0.0.1:{free_port()}/adapter")
    t0 = time.monotonic()
    r = gw.post(SYNC, city_dossier())
    assert_error(r, 502, "upstream.connect", route="dvcqg.dossier.sync")
    assert time.monotonic() - t0 < 3, "a refused connection is known at once"


@pytest.mark.parametrize("control", [
    {"fail_status": 500},
    {"fail_status": 503},
    {"close_connection": True},
    {"reject_login": True},
], ids=["http-500", "http-503", "dropped-connection", "login-refused"])
def test_upstream_answers_badly(gw, sandbox, control):
    """Whatever breaks on the portal's side, the city gets a 502 envelope naming the upstream
    problem, never a made-up success."""
    sandbox.control(**control)
    r = gw.post(SYNC, city_dossier())
    assert r.status == 502, f"expected 502, got {r.status}: {r.text()[:300]}"
    err = assert_error(r, 502, r.json()["error"]["code"], route="dvcqg.dossier.sync")
    assert err["code"].startswith("upstream."), err
    assert sandbox.received, "the gateway never called the portal"
    # And it recovers once the portal does.
    sandbox.reset()
    r = gw.post(SYNC, city_dossier())
    assert r.status == 200, r.text()
    assert r.json()["accepted"] is True

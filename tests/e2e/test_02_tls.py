"""Mutual TLS on both sides: who may call the gateway, and which upstream the gateway trusts."""

import time

import pytest

from harness import (LOOKUP, SYNC, TLS_REFUSALS, assert_error, city_dossier, city_lookup,
                     dossier_code, new_sandbox, send)


def test_disallowed_client_is_forbidden(gw, sandbox):
    """A valid chain from the dev CA, but not a name the route allows."""
    r = gw.post(SYNC, city_dossier(), cert="other-client")
    assert_error(r, 403, "auth.forbidden", route="dvcqg.dossier.sync")
    assert sandbox.calls() == []


@pytest.mark.parametrize("cert", [None, "rogue-client"], ids=["no-certificate", "rogue-ca"])
def test_handshake_refused(gw, sandbox, cert):
    """No client certificate, or the allowed name signed by an untrusted CA: the TLS handshake
    fails, and not a byte of HTTP is answered."""
    conn = gw.connect(cert=cert)
    try:
        with pytest.raises(TLS_REFUSALS):
            r = send(conn, "POST", LOOKUP, city_lookup(dossier_code(1)))
            pytest.fail(f"the gateway answered HTTP {r.status}: {r.text()[:300]}")
    finally:
        conn.close()
    assert sandbox.calls() == []
    # And the gateway still serves the city.
    assert gw.post(LOOKUP, city_lookup(dossier_code(1))).status == 200


def test_upstream_with_untrusted_certificate(gateway, pki):
    srv = new_sandbox(pki, cert="rogue-sandbox").start()
    try:
        gw = gateway(srv)
        r = gw.post(SYNC, city_dossier())
        assert_error(r, 502, "upstream.tls", route="dvcqg.dossier.sync")
        assert srv.received == [], "a request went to an upstream whose certificate failed"
        # The sandbox records the failed handshake on its own thread, which may still be at it
        # when the gateway's 502 is already here.
        deadline = time.monotonic() + 10
        while not srv.tls_failures and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.tls_failures, "the gateway never tried the upstream"
    finally:
        srv.stop()


def test_upstream_pin_mismatch(gateway, sandbox, pki):
    """sandbox.crt chains to the trusted CA, but its key is not the pinned one."""
    gw = gateway(sandbox, pin=pki.pin("other-sandbox"))
    r = gw.post(SYNC, city_dossier())
    assert_error(r, 502, "upstream.tls", route="dvcqg.dossier.sync")
    assert sandbox.received == []


def test_upstream_pin_match(gateway, sandbox, pki):
    gw = gateway(sandbox, pin=pki.pin("sandbox"))
    r = gw.post(SYNC, city_dossier())
    assert r.status == 200, r.text()
    assert r.json()["accepted"] is True
    assert len(sandbox.calls("DongBoHoSoMC")) == 1

"""The per-transaction arena (gateway/arena.c) changes no byte: with the arena (the default) and
with LT_ARENA=0 (jansson's own malloc/free, the switch for bisecting a use-after-transaction), the
same requests give the same portal bodies and the same answers, across a login, a refused session
and its re-login, a mapping error, and a run of requests on one kept-alive connection. The
gateway's stderr is checked for sanitizer reports by the fixture either way."""

import json

import pytest

from harness import (SYNC, KeepAliveClient, assert_error, city_dossier, dossier_code,
                     expected_sync_body)


@pytest.fixture(params=["arena", "LT_ARENA=0"])
def arena_mode(request, monkeypatch):
    """Set before the gateway starts: it reads LT_ARENA once, at start."""
    if request.param == "arena":
        monkeypatch.delenv("LT_ARENA", raising=False)
    else:
        monkeypatch.setenv("LT_ARENA", "0")
    return request.param


def test_same_bytes_with_and_without_the_arena(arena_mode, gw, sandbox):
    r = gw.post(SYNC, city_dossier(), headers={"X-Request-Id": "e2e-arena-0001"})
    assert r.status == 200, r.text()
    answer = r.json()
    assert (answer["accepted"], answer["code"], answer["message"]) == (True, "0", "Đồng bộ thành công")
    assert r.header("X-Request-Id") == "e2e-arena-0001"
    first = sandbox.calls()[0]
    expected = expected_sync_body(sandbox.sessions[0])
    # The body the portal got, field order included.
    assert json.dumps(first["json"], ensure_ascii=False) == json.dumps(expected, ensure_ascii=False)

    # The session is refused: the kept document is sent again after a new login.
    sandbox.control(expire_sessions=True)
    r = gw.post(SYNC, city_dossier(dossier_code(2)))
    assert r.status == 200, r.text()
    assert r.json()["accepted"] is True
    assert sandbox.logins == 2
    refused, retried = sandbox.calls()[1:3]
    assert retried["json"]["session"] == sandbox.sessions[1]
    assert dict(retried["json"], session=refused["json"]["session"]) == refused["json"]

    # A mapping error is the same envelope.
    doc = city_dossier()
    del doc["dossiers"][0]["code"]
    assert_error(gw.post(SYNC, doc), 422, "mapping.required", field="data[0].MaHoSo",
                 route="dvcqg.dossier.sync")

    # Transactions one after another on one connection: each body is its own.
    client = KeepAliveClient(gw)
    try:
        for n in range(100, 130):
            r = client.send("POST", SYNC, city_dossier(dossier_code(n)))
            assert r.status == 200, r.text()
            assert r.json()["accepted"] is True
    finally:
        client.close()
    sent = [c["json"]["data"][0]["MaHoSo"] for c in sandbox.calls()[3:]]
    assert sent == [dossier_code(n) for n in range(100, 130)]
    assert sandbox.logins == 2

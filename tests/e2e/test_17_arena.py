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


def test_tree_larger_than_the_arena_bound(gateway, sandbox):
    """A transaction's arena holds at most 8 × max_body + 256 KiB; past it, jansson's blocks come
    from the heap. A 1,700-document dossier under max_body 256 KiB needs ~3 MB of trees against a
    2.25 MiB bound: it still maps exactly, and the fixture's LeakSanitizer check at exit shows the
    heap blocks mixed into the arena's trees were freed."""
    gw = gateway(sandbox, max_body="256KiB")
    doc = city_dossier()
    docs = [{"id": str(5000 + i), "name": f"Giấy tờ kèm theo số {i}.pdf",
             "url": f"https://dichvucong.hanoi.gov.vn/documents/{5000 + i}.pdf", "deleted": i % 7 == 0}
            for i in range(1700)]
    doc["dossiers"][0]["documents"] = docs
    assert len(json.dumps(doc, ensure_ascii=False).encode("utf-8")) < 256 * 1024
    r = gw.post(SYNC, doc)
    assert r.status == 200, r.text()
    assert r.json()["accepted"] is True
    (call,) = sandbox.calls()
    sent = call["json"]["data"][0]["TaiLieuNop"]
    assert len(sent) == 1700
    assert sent[0] == {"TepDinhKemId": "5000", "TenTepDinhKem": "Giấy tờ kèm theo số 0.pdf",
                       "IsDeleted": "True", "MaThanhPhanHoSo": "",
                       "DuongDanTaiTepTin": "https://dichvucong.hanoi.gov.vn/documents/5000.pdf"}
    assert [d["TepDinhKemId"] for d in sent] == [str(5000 + i) for i in range(1700)]
    assert [d["IsDeleted"] for d in sent] == ["True" if i % 7 == 0 else "False" for i in range(1700)]

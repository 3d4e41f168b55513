"""The three DVCQG routes working end to end: the city's JSON in, the portal's JSON out, the
portal's answer mapped back, and the request id carried through."""

import json

from harness import (DSTCODE, DVCQG_USER, GATEWAY_CN, LOOKUP, MADONVI, PASSWORD, PROGRESS,
                     SYNC, city_dossier, city_lookup, city_progress, dossier_code, expected_sync_body,
                     portal_dossier)


def content_type(rec):
    return rec["headers"].get("content-type", "").split(";")[0].strip()


def test_admin_healthz(gw):
    status, body = gw.healthz()
    assert status == 200
    assert json.loads(body) == {"status": "ok"}


def test_dossier_mapped_and_accepted(gw, sandbox):
    r = gw.post(SYNC, city_dossier(), headers={"X-Request-Id": "e2e-sync-0001"})
    assert r.status == 200, r.text()
    answer = r.json()
    assert answer["accepted"] is True
    assert answer["code"] == "0"
    assert answer["message"] == "Đồng bộ thành công"
    assert r.header("X-Request-Id") == "e2e-sync-0001"

    # The gateway logged in once, with the configured account and its client certificate.
    assert sandbox.logins == 1
    login = [x for x in sandbox.received if x["path"] == "/adapter/auth"][0]
    assert login["json"] == {"username": DVCQG_USER, "password": PASSWORD}
    assert login["headers"]["dstcode"] == DSTCODE
    assert login["peer_cn"] == GATEWAY_CN

    calls = sandbox.calls()
    assert len(calls) == 1
    call = calls[0]
    assert call["peer_cn"] == GATEWAY_CN
    assert call["method"] == "POST" and call["path"] == "/adapter"
    assert content_type(call) == "application/json"
    assert call["headers"]["dstcode"] == DSTCODE
    assert call["headers"]["x-request-id"] == "e2e-sync-0001"
    session = sandbox.sessions[0]
    expected = expected_sync_body(session)
    assert call["json"] == expected
    assert list(call["json"])[0] == "session"
    # Same fields, and in the mapping's order.
    assert json.dumps(call["json"], ensure_ascii=False) == json.dumps(expected, ensure_ascii=False)
    assert call["answer"]["json"]["error_code"] == "0"

    # A second dossier: the cached session is used, no second login.
    r = gw.post(SYNC, city_dossier(dossier_code(9002)))
    assert r.status == 200, r.text()
    assert r.json()["accepted"] is True
    assert sandbox.logins == 1
    second = sandbox.calls()[1]
    assert second["json"]["session"] == session
    assert second["json"]["data"][0]["MaHoSo"] == dossier_code(9002)
    assert set(sandbox.dossiers) == {expected["data"][0]["MaHoSo"], dossier_code(9002)}


def test_progress_update_accepted(gw, sandbox):
    code = dossier_code(11)
    r = gw.post(PROGRESS, city_progress(code))
    assert r.status == 200, r.text()
    assert r.json()["accepted"] is True
    assert r.json()["code"] == "0"
    assert r.json()["message"] == "Cập nhật tiến độ thành công"
    (call,) = sandbox.calls()
    doc = call["json"]
    assert list(doc)[:3] == ["session", "madonvi", "service"]
    assert doc["session"] == sandbox.sessions[-1]
    assert doc["madonvi"] == MADONVI
    assert doc["service"] == "CapNhatTienDoHoSoMC"
    item = doc["data"][0]
    assert item["MaHoSo"] == code
    assert item["NguoiXuLy"] == "Trần Thị Bình"
    assert item["ThoiDiemXuLy"] == "20250116100512"
    assert item["NoiDungXuLy"] == "Chuyển thẩm định"
    assert item["TrangThai"] == "4"
    assert call["answer"]["json"]["error_code"] == "0"


def test_lookup_found_and_not_found(gw, sandbox):
    known = dossier_code(21)
    sandbox.store_dossier(portal_dossier(known, status="4"))

    r = gw.post(LOOKUP, city_lookup(known))
    assert r.status == 200, r.text()
    assert r.json()["found"] is True
    assert r.json()["status_code"] == "4"
    call = sandbox.calls()[-1]
    assert call["json"] == {"session": sandbox.sessions[-1], "madonvi": MADONVI, "service": "TraCuuHoSo",
                            "mahoso": known}

    r = gw.post(LOOKUP, city_lookup(dossier_code(22)))
    assert r.status == 200, r.text()
    assert r.json()["found"] is False
    assert sandbox.calls()[-1]["json"]["mahoso"] == dossier_code(22)


def test_request_id_kept_when_sent(gw, sandbox):
    r = gw.post(LOOKUP, city_lookup(dossier_code(1)), headers={"X-Request-Id": "city-7f3a9c"})
    assert r.status == 200, r.text()
    assert r.header("X-Request-Id") == "city-7f3a9c"
    assert sandbox.calls()[-1]["headers"]["x-request-id"] == "city-7f3a9c"


def test_request_id_made_when_not_sent(gw, sandbox):
    ids = []
    for n in (1, 2):
        r = gw.post(LOOKUP, city_lookup(dossier_code(n)))
        assert r.status == 200, r.text()
        rid = r.header("X-Request-Id")
        assert rid and len(rid) <= 64, f"generated X-Request-Id {rid!r}"
        assert sandbox.calls()[-1]["headers"].get("x-request-id") == rid
        ids.append(rid)
    assert ids[0] != ids[1]


"""The DVCQG sandbox on its own, driven the way the gateway drives it (mTLS with gw-client.crt).
These tests keep the harness honest: every later test trusts what the sandbox records and
refuses."""

import json
import ssl
import subprocess
import sys
import time

import pytest

from harness import (DVCQG_USER, MADONVI, PASSWORD, REPO, TLS_REFUSALS, dossier_code, free_port,
                     new_sandbox, portal_dossier, portal_headers, sandbox_client, send)


def login(conn, password=PASSWORD):
    return send(conn, "POST", "/adapter/auth", {"username": DVCQG_USER, "password": password},
                portal_headers())


def call(conn, session, service, **fields):
    doc = {"session": session, "madonvi": MADONVI, "service": service, **fields}
    return send(conn, "POST", "/adapter", doc, portal_headers())


def sync_item(code):
    """A DongBoHoSoMC item with every mandatory field (FORMATS.md §2.4)."""
    return {"MaHoSo": code, "MaTTHC": "1.001612",
            "TenTTHC": "Cấp Giấy chứng nhận đăng ký hộ kinh doanh",
            "MaLinhVuc": "G09-TM01", "TenLinhVuc": "Thành lập và hoạt động của hộ kinh doanh",
            "SoBienNhan": "", "ChuHoSo": "Nguyễn Văn An", "LoaiDoiTuong": "1",
            "Email": "an.nguyen@example.vn",
            "SoDienThoai": "0912345678", "TrichYeuHoSo": "Đăng ký hộ kinh doanh",
            "NgayTiepNhan": "20250115083000", "NgayHenTra": "20250120170000", "TrangThaiHoSo": "2",
            "NgayTra": "", "HinhThuc": "0", "DonViXuLy": "UBND phường Ba Đình",
            "TaiLieuNop": [{"TepDinhKemId": "1001", "TenTepDinhKem": "don.pdf", "IsDeleted": "False"}],
            "DanhSachLePhi": []}


@pytest.fixture
def portal(pki, sandbox):
    conn = sandbox_client(pki, sandbox.port)
    yield conn
    conn.close()


@pytest.fixture
def session(portal):
    r = login(portal)
    assert r.status == 200
    return r.json()["session"]


def test_login_gives_a_session_and_refuses_bad_credentials(sandbox, portal):
    r = login(portal)
    assert r.status == 200
    doc = r.json()
    assert doc["error_code"] == "0" and doc["message"] == "Thành công"
    assert doc["session"] == sandbox.sessions[0] and len(doc["session"]) >= 16

    r = login(portal, password="wrong")
    assert r.json() == {"error_code": "-1", "message": "Sai tên đăng nhập hoặc mật khẩu"}
    assert sandbox.logins == 2 and len(sandbox.sessions) == 1
    rec = sandbox.received[0]
    assert rec["peer_cn"] == "lienthong-gateway"
    assert rec["headers"]["dstcode"] == "000.00.00.H26"


def test_sync_accepted_stored_and_found(sandbox, portal, session):
    code = dossier_code(7)
    r = call(portal, session, "DongBoHoSoMC", isUpdating="False", data=[sync_item(code)])
    assert r.status == 200
    assert r.json() == {"error_code": "0", "message": "Đồng bộ thành công"}
    assert sandbox.dossiers[code]["TrangThaiHoSo"] == "2"

    r = call(portal, session, "TraCuuHoSo", mahoso=code)
    assert r.json()["result"] == [{"MaHoSo": code, "TrangThaiHoSo": "2"}]
    r = call(portal, session, "TraCuuHoSo", mahoso=dossier_code(8))
    assert r.json() == {"error_code": "0", "message": "Không tìm thấy hồ sơ", "result": []}

    progress = {"MaHoSo": code, "NguoiXuLy": "Trần Thị Bình", "ThoiDiemXuLy": "20250116100512",
                "NoiDungXuLy": "Chuyển thẩm định", "TrangThai": "4"}
    r = call(portal, session, "CapNhatTienDoHoSoMC", data=[progress])
    assert r.json() == {"error_code": "0", "message": "Cập nhật tiến độ thành công"}
    assert call(portal, session, "TraCuuHoSo", mahoso=code).json()["result"][0]["TrangThaiHoSo"] == "4"
    assert [c["json"]["service"] for c in sandbox.calls()] == [
        "DongBoHoSoMC", "TraCuuHoSo", "TraCuuHoSo", "CapNhatTienDoHoSoMC", "TraCuuHoSo"]


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("MaTTHC"), "data[0].MaTTHC là bắt buộc"),
    (lambda d: d.update(Email=""), "data[0].Email là bắt buộc"),
    (lambda d: d.update(TrangThaiHoSo=2), "data[0].TrangThaiHoSo phải là chuỗi"),
    (lambda d: d.update(TrangThaiHoSo="11"), "data[0].TrangThaiHoSo phải từ 1 đến 10"),
    (lambda d: d.update(NgayTiepNhan="2025-01-15 08:30"),
     "data[0].NgayTiepNhan phải có dạng yyyyMMddHHmmss"),
    (lambda d: d.update(NgayTra="20251345000000"), "data[0].NgayTra phải có dạng yyyyMMddHHmmss"),
    (lambda d: d["TaiLieuNop"][0].update(IsDeleted=False),
     "data[0].TaiLieuNop[0].IsDeleted phải là chuỗi"),
    (lambda d: d.update(MaHoSo="HS-1"), "data[0].MaHoSo không đúng định dạng"),
    (lambda d: d.update(GhiChu=None), "data[0].GhiChu phải là chuỗi"),
])
def test_sync_item_rejected(sandbox, portal, session, change, message):
    item = sync_item(dossier_code(1))
    change(item)
    r = call(portal, session, "DongBoHoSoMC", isUpdating="False", data=[item])
    assert r.status == 200
    assert r.json() == {"error_code": "2", "message": "Dữ liệu không hợp lệ: " + message}
    assert sandbox.dossiers == {}
    assert sandbox.received[-1]["answer"]["json"]["error_code"] == "2"


def test_envelope_rejections(sandbox, portal, session):
    item = sync_item(dossier_code(1))
    r = call(portal, session, "DongBoHoSoMC", isUpdating=False, data=[item])
    assert r.json()["message"] == 'Dữ liệu không hợp lệ: isUpdating phải là "True" hoặc "False"'
    r = call(portal, session, "DongBoHoSoMC", isUpdating="True", data=[])
    assert r.json()["message"] == "Dữ liệu không hợp lệ: data phải là mảng không rỗng"
    r = call(portal, session, "LayThuTucKhongCo")
    assert r.json() == {"error_code": "3", "message": "Dịch vụ không tồn tại"}
    r = send(portal, "POST", "/adapter", {"session": session, "madonvi": "H26", "service": "TraCuuHoSo",
                                          "mahoso": "x"}, portal_headers())
    assert r.json()["message"] == "Dữ liệu không hợp lệ: madonvi không đúng định dạng"
    r = send(portal, "POST", "/adapter", {"session": session}, {"Content-Type": "application/json"})
    assert r.status == 400 and r.json()["message"] == "Thiếu hoặc sai header dstcode"
    r = send(portal, "POST", "/adapter", b"{}", {"Content-Type": "text/plain", "dstcode": "000.00.00.H26"})
    assert r.status == 400 and r.json()["message"] == "Content-Type phải là application/json"
    r = send(portal, "POST", "/adapter", b"{bad", portal_headers())
    assert r.status == 400
    # Every one of them was recorded, with its answer.
    assert len(sandbox.calls()) == 7
    assert all(c["answer"]["json"]["error_code"] != "0" for c in sandbox.calls())


def test_expired_session_refused_until_next_login(sandbox, portal, session):
    sandbox.control(expire_sessions=True)
    r = call(portal, session, "TraCuuHoSo", mahoso=dossier_code(1))
    assert r.status == 200
    assert r.json() == {"error_code": "-1", "message": "Session không hợp lệ hoặc đã hết hạn"}
    fresh = login(portal).json()["session"]
    assert fresh != session
    assert call(portal, fresh, "TraCuuHoSo", mahoso=dossier_code(1)).json()["error_code"] == "0"
    assert call(portal, session, "TraCuuHoSo", mahoso=dossier_code(1)).json()["error_code"] == "-1"
    assert sandbox.logins == 2


def test_reject_login(sandbox, portal):
    sandbox.control(reject_login=True)
    assert login(portal).json()["error_code"] == "-1"
    sandbox.control(reject_login=False)
    assert login(portal).json()["error_code"] == "0"


def test_delay_fail_status_and_dropped_connection(sandbox, portal, session, pki):
    sandbox.control(delay_ms=400)
    t0 = time.monotonic()
    assert call(portal, session, "TraCuuHoSo", mahoso=dossier_code(1)).status == 200
    assert time.monotonic() - t0 >= 0.4
    sandbox.control(delay_ms=0, fail_status=503, fail_times=1)
    assert call(portal, session, "TraCuuHoSo", mahoso=dossier_code(1)).status == 503
    assert call(portal, session, "TraCuuHoSo", mahoso=dossier_code(1)).status == 200
    sandbox.control(close_connection=True)
    with pytest.raises(TLS_REFUSALS):
        call(portal, session, "TraCuuHoSo", mahoso=dossier_code(1))
    assert sandbox.calls()[-1]["answer"] is None        # recorded, never answered


def test_control_over_http(sandbox, pki):
    conn = sandbox_client(pki, sandbox.port, cert="city")
    try:
        r = send(conn, "POST", "/__sandbox/control", {"reject_login": True})
        assert r.status == 200
        assert login(conn).json()["error_code"] == "-1"
        r = send(conn, "GET", "/__sandbox/received")
        got = r.json()
        assert [x["path"] for x in got] == ["/adapter/auth"] and got[0]["peer_cn"] == "hanoi-dossier-system"
        assert send(conn, "POST", "/__sandbox/control", {"no_such": 1}).status == 400
        assert send(conn, "POST", "/__sandbox/reset", b"").status == 200
        assert sandbox.received == [] and login(conn).json()["error_code"] == "0"
    finally:
        conn.close()


def test_client_certificate_required(sandbox, pki):
    for cert in (None, "rogue-client"):
        conn = sandbox_client(pki, sandbox.port, cert=cert)
        with pytest.raises(TLS_REFUSALS):
            login(conn)
        conn.close()
    assert sandbox.received == []
    deadline = time.monotonic() + 2
    while len(sandbox.tls_failures) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(sandbox.tls_failures) == 2


@pytest.mark.parametrize("cert, error", [("rogue-sandbox", "certificate verify failed"),
                                         ("other-sandbox", None)])
def test_other_server_certificates(pki, cert, error):
    """A sandbox can present the rogue or the second dev certificate (for the gateway's TLS and
    pin tests): a client that trusts the dev CA refuses the first and accepts the second."""
    srv = new_sandbox(pki, cert=cert).start()
    try:
        conn = sandbox_client(pki, srv.port)
        if error:
            with pytest.raises(ssl.SSLCertVerificationError, match=error):
                login(conn)
            assert srv.received == []
        else:
            assert login(conn).json()["error_code"] == "0"
            assert conn.sock.getpeercert(binary_form=True) == ssl.PEM_cert_to_DER_cert(
                open(pki[cert + ".crt"]).read())
        conn.close()
    finally:
        srv.stop()


def test_lookup_of_stored_dossier(sandbox, portal, session):
    sandbox.store_dossier(portal_dossier(dossier_code(3), status="9"))
    r = call(portal, session, "TraCuuHoSo", mahoso=dossier_code(3))
    assert r.json() == {"error_code": "0", "message": "Tìm thấy hồ sơ",
                        "result": [{"MaHoSo": dossier_code(3), "TrangThaiHoSo": "9"}]}


def test_standalone_prints_one_line_per_request(pki):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "sandbox" / "dvcqg.py"), "--port", str(port),
         "--cert", pki["sandbox.crt"], "--key", pki["sandbox.key"], "--client-ca", pki["ca.crt"],
         "--username", DVCQG_USER, "--password", PASSWORD, "--verbose"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        assert f"listening on https://127.0.0.1:{port}/adapter" in first
        srv = type("S", (), {"port": port})
        conn = sandbox_client(pki, srv.port)
        assert login(conn).json()["error_code"] == "0"
        conn.close()
        line = proc.stdout.readline()
        assert ("lienthong-gateway POST /adapter/auth login lienthong-e2e -> 200 error_code=0 "
                "Thành công") in line
    finally:
        proc.terminate()
        assert proc.wait(5) == 0
        proc.stdout.close()


def test_json_answers_are_utf8(sandbox, portal):
    r = login(portal, password="x")
    assert r.header("Content-Type") == "application/json; charset=utf-8"
    assert "Sai tên đăng nhập".encode("utf-8") in r.body
    assert json.loads(r.body.decode("utf-8"))["error_code"] == "-1"

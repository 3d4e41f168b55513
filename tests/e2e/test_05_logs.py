"""The access log an operator reads: one JSON line per request, and no secret in any line."""

import json

from harness import ACCESS_KEYS, PASSWORD, SYNC, city_dossier


def test_access_log_one_line_per_request(gw, sandbox):
    sent = {
        "e2e-log-ok": gw.post(SYNC, city_dossier(), headers={"X-Request-Id": "e2e-log-ok"}),
        "e2e-log-404": gw.post("/v1/nowhere", {}, headers={"X-Request-Id": "e2e-log-404"}),
        "e2e-log-403": gw.post(SYNC, city_dossier(), headers={"X-Request-Id": "e2e-log-403"},
                               cert="other-client"),
    }
    assert [r.status for r in sent.values()] == [200, 404, 403]

    lines = gw.wait_access(sent)
    by_id = {}
    for line in lines:
        by_id.setdefault(line["request_id"], []).append(line)
    assert sorted(by_id) == sorted(sent), f"access lines for {sorted(by_id)}"
    for rid, got in by_id.items():
        assert len(got) == 1, f"{len(got)} access lines for {rid}: {got}"

    ok = by_id["e2e-log-ok"][0]
    missing = [k for k in ACCESS_KEYS if k not in ok]
    assert not missing, f"access line without {missing}: {ok}"
    assert ok["route"] == "dvcqg.dossier.sync"
    assert ok["client"] == "CN=hanoi-dossier-system"
    assert ok["upstream"] == "dvcqg"
    assert ok["status"] == 200
    assert ok["upstream_status"] == 200
    request_len = len(json.dumps(city_dossier(), ensure_ascii=False).encode("utf-8"))
    assert isinstance(ok["bytes_in"], int) and ok["bytes_in"] >= request_len
    assert isinstance(ok["bytes_out"], int) and ok["bytes_out"] >= len(sent["e2e-log-ok"].body)
    assert isinstance(ok["latency_ms"], (int, float)) and ok["latency_ms"] >= 0
    assert isinstance(ok["time"], str) and ok["time"]

    not_found = by_id["e2e-log-404"][0]
    assert not_found["status"] == 404
    assert not_found["client"] == "CN=hanoi-dossier-system"

    forbidden = by_id["e2e-log-403"][0]
    assert forbidden["status"] == 403
    assert forbidden["route"] == "dvcqg.dossier.sync"
    assert forbidden["client"] == "CN=some-other-system"


def test_no_secret_in_the_log(gw, sandbox):
    """The login password comes from ${env:...} and the session is a credential: neither may
    reach a log line, even when the session expires and the gateway logs in again."""
    assert gw.post(SYNC, city_dossier(), headers={"X-Request-Id": "e2e-secret-1"}).status == 200
    sandbox.control(expire_sessions=True)
    assert gw.post(SYNC, city_dossier(), headers={"X-Request-Id": "e2e-secret-2"}).status == 200
    assert sandbox.logins == 2
    assert len(gw.wait_access(["e2e-secret-1", "e2e-secret-2"])) == 2
    log = gw.stderr()
    assert PASSWORD not in log
    for session in sandbox.sessions:
        assert session not in log, "a DVCQG session token is in the gateway's log"

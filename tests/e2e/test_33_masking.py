"""Personal data never reaches a log line in full: the city's dossier with a CCCD, a phone and
an e-mail goes through, and the same values sent where logs do show them (a path, a request id,
an upstream error) appear masked."""

import json

from harness import SYNC, city_dossier

CCCD, PHONE, EMAIL = "001085012345", "0912345678", "an.nguyen@example.vn"


def test_personal_data_is_masked_in_every_log_line(gw, sandbox):
    doc = city_dossier()
    applicant = doc["dossiers"][0]["applicant"]
    assert (applicant["id_number"], applicant["phone"], applicant["email"]) == (CCCD, PHONE, EMAIL)
    r = gw.post(SYNC, doc, headers={"X-Request-Id": "e2e-mask-1"})
    assert r.status == 200, r.text()
    # The portal got them (masking is for logs only).
    sent = json.dumps(sandbox.calls()[0]["json"], ensure_ascii=False)
    assert PHONE in sent and EMAIL in sent

    # Where a log line does carry text from the caller: the path and the request id.
    assert gw.post(f"/v1/citizens/{CCCD}/{PHONE}/{EMAIL}", {}, headers={"X-Request-Id": "e2e-mask-2"}).status == 404
    assert gw.post(SYNC, doc, headers={"X-Request-Id": CCCD}).status == 200

    lines = gw.wait_access(["e2e-mask-1", "e2e-mask-2", "00108*****45"])
    assert len(lines) == 3, lines
    log = gw.stderr()
    for value in (CCCD, PHONE, EMAIL):
        assert value not in log, f"{value} is in the log"
    by_id = {d["request_id"]: d for d in lines}
    assert by_id["e2e-mask-2"]["path"] == "/v1/citizens/00108*****45/091*****78/a***@example.vn"
    assert "00108*****45" in by_id

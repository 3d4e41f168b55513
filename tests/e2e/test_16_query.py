"""`in: query` through the gateway: a GET whose query string is the document (VNPAY's IPN is one),
mapped and sent upstream; and the strict form parser's refusals as the caller sees them."""

import json
import urllib.parse

import pytest

from harness import assert_error, dossier_code, portal_dossier

LOOKUP_GET = "/test/lookup"

# The DVCQG lookup (mappings/dvcqg/dossier-lookup.yaml), read from the URL instead of a JSON body.
QUERY_LOOKUP = """\
request:
  in: query
  out: json
  fields:
    session: { var: auth.token }
    madonvi: { value: "000.00.00.H26" }
    service: { value: TraCuuHoSo }
    mahoso:  { from: code, required: true }
    note:    { from: note }
response:
  fields:
    found: { from: "result[0].MaHoSo", map: { default: true }, default: false }
"""


@pytest.fixture
def qgw(gateway, sandbox, tmp_path):
    (tmp_path / "query-lookup.yaml").write_text(QUERY_LOOKUP, encoding="utf-8")
    return gateway(sandbox, extra_routes={
        "test.query_lookup": {"path": LOOKUP_GET, "match": {"method": "GET", "path": LOOKUP_GET},
                              "mapping": str(tmp_path / "query-lookup.yaml")},
    })


def test_query_string_is_the_document(qgw, sandbox):
    code = dossier_code(7)
    sandbox.store_dossier(portal_dossier(code))
    note = "Hà Nội & co = 100%"
    r = qgw.request("GET", f"{LOOKUP_GET}?code={urllib.parse.quote(code)}&note={urllib.parse.quote_plus(note)}")
    assert r.status == 200, r.text()
    assert r.json() == {"found": True}
    [call] = sandbox.calls("TraCuuHoSo")
    # Decoded: '+' is a space, %XX its byte, UTF-8 kept; in the order the mapping writes.
    assert call["json"]["mahoso"] == code
    assert call["json"]["note"] == note
    assert list(call["json"]) == ["session", "madonvi", "service", "mahoso", "note"]


def test_missing_field_in_the_query_is_a_rule_failure(qgw, sandbox):
    r = qgw.request("GET", LOOKUP_GET + "?other=1")
    assert_error(r, 422, "mapping.required", field="mahoso", route="test.query_lookup")
    r = qgw.request("GET", LOOKUP_GET)
    assert_error(r, 422, "mapping.required", field="mahoso")
    assert sandbox.calls() == []


@pytest.mark.parametrize("query, message", [
    ("code=a&code=b", "invalid form at byte 7: a field given twice"),
    ("code=%zz", "invalid form at byte 5: '%' is not followed by two hex digits"),
    ("code=a%00b", "invalid form at byte 6: %00 is not allowed"),
    ("code=%C3%28", "invalid form at byte 5: not UTF-8 once decoded"),
], ids=["duplicate", "bad-escape", "nul", "bad-utf8"])
def test_ambiguous_query_strings_are_refused(qgw, sandbox, query, message):
    r = qgw.request("GET", f"{LOOKUP_GET}?{query}")
    err = assert_error(r, 400, "form.invalid", route="test.query_lookup")
    assert err["message"] == message
    assert sandbox.calls() == []


def test_a_body_does_not_replace_the_query(qgw, sandbox):
    code = dossier_code(8)
    r = qgw.request("GET", f"{LOOKUP_GET}?code={code}", body=json.dumps({"code": "other"}).encode(),
                    headers={"Content-Type": "application/json"})
    assert r.status == 200, r.text()
    assert r.json() == {"found": False}
    assert sandbox.calls("TraCuuHoSo")[0]["json"]["mahoso"] == code

"""Text the gateway did not make (a request's path, headers) is written into JSON as valid UTF-8:
bytes that are not UTF-8 become U+FFFD, in the error answer and in the access line alike. RFC 8259
text is UTF-8; a line that is not is dropped or refused by log shippers and JSON parsers."""

import json

BAD_PATH = b"/v1/\xff\xfe-x"


def test_bytes_that_are_not_utf8_become_replacement_characters(gw):
    rid = "e2e-json-text-1"
    r = gw.raw(b"POST " + BAD_PATH + b" HTTP/1.1\r\nHost: x\r\nX-Request-Id: " + rid.encode() +
               b"\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    assert r.status == 404
    body = json.loads(r.body.decode("utf-8"))      # strict: raises on a byte that is not UTF-8
    assert body["error"]["code"] == "route.not_found"
    assert "/v1/\ufffd\ufffd-x" in body["error"]["message"], body

    gw.wait_access([rid])
    lines = [line for line in gw.stderr_path.read_bytes().splitlines() if rid.encode() in line]
    access = [json.loads(line.decode("utf-8")) for line in lines if b'"type":"access"' in line]
    assert len(access) == 1, lines
    assert access[0]["path"] == "/v1/\ufffd\ufffd-x"

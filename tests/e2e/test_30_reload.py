"""Hot reload: a mapping changed under steady traffic, a broken config refused, the log level
changed, and a rotated server certificate served to new connections while an open keep-alive
connection finishes on the old one."""

import ssl
import threading
import time

from harness import SYNC, KeepAliveClient, city_dossier
from ops import (WAIT, admin, audits, metrics, reload, set_sync_mapping, sign_cert,
                 sync_mapping_variant, write_config)


def answer_version(r):
    assert r.status == 200, f"{r.status} {r.text()}"
    doc = r.json()
    assert doc["accepted"] is True and doc["code"] == "0", doc
    return doc.get("version")


def test_reload_under_load_never_fails_a_request(gw, sandbox):
    mapping = gw.workdir / "sync.yaml"
    sync_mapping_variant(mapping, "v0")
    set_sync_mapping(gw, mapping)
    assert reload(gw)["outcome"] == "accepted"
    assert answer_version(gw.post(SYNC, city_dossier())) == "v0"

    results, stop = [], threading.Event()

    def client(keepalive):
        c = KeepAliveClient(gw) if keepalive else None
        try:
            while not stop.is_set():
                try:
                    r = c.send("POST", SYNC, city_dossier()) if c else gw.post(SYNC, city_dossier())
                    results.append(r)
                except Exception as exc:  # noqa: BLE001 (any failure is the finding)
                    results.append(exc)
        finally:
            if c:
                c.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in (True, False)]
    for t in threads:
        t.start()
    try:
        for n in range(1, 6):
            sync_mapping_variant(mapping, f"v{n}")
            assert reload(gw)["outcome"] == "accepted"
            # Let traffic run on the new generation before the next change.
            seen = len(results)
            deadline = time.monotonic() + WAIT
            while len(results) < seen + 3 and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        stop.set()
        for t in threads:
            t.join(WAIT)

    failures = [r for r in results if isinstance(r, Exception) or r.status != 200]
    assert not failures, f"{len(failures)} of {len(results)} requests failed: {failures[:3]}"
    versions = [answer_version(r) for r in results]
    assert set(versions) <= {f"v{n}" for n in range(6)}, set(versions)
    assert len(set(versions)) >= 3, f"the reloads were not seen by traffic: {set(versions)}"
    assert answer_version(gw.post(SYNC, city_dossier())) == "v5"
    accepted = [a for a in audits(gw, "reload") if a["outcome"] == "accepted"]
    assert [a["generation"] for a in accepted] == list(range(2, 8))


def test_broken_config_is_refused_and_the_old_one_keeps_serving(gw, sandbox):
    good = gw.config_path.read_text()
    gw.config_path.write_text(good.replace("routes:", "routs:", 1))
    refused = reload(gw)
    assert refused["outcome"] == "refused"
    assert "routs" in refused["reason"] and str(gw.config_path) in refused["reason"]
    assert gw.alive()
    assert gw.post(SYNC, city_dossier()).status == 200

    # The same through the admin endpoint: the caller is told why, as a JSON error.
    status, _, body = admin(gw, "POST", "/admin/reload")
    assert status == 422, body
    assert b'"code":"reload.refused"' in body and b"routs" in body
    assert gw.post(SYNC, city_dossier()).status == 200

    # A mapping that does not compile is refused too.
    mapping = gw.workdir / "sync.yaml"
    mapping.write_text("request:\n  in: json\n  out: json\n  fields:\n    x: { frm: y }\n")
    gw.config_path.write_text(good)
    set_sync_mapping(gw, mapping)
    assert reload(gw, how="admin")["outcome"] == "refused"
    assert gw.post(SYNC, city_dossier()).status == 200
    assert metrics(gw)  # and the admin side still answers


def test_log_level_changes_on_reload(gw, sandbox):
    assert gw.post(SYNC, city_dossier(), headers={"X-Request-Id": "e2e-level-1"}).status == 200
    assert len(gw.wait_access(["e2e-level-1"])) == 1
    cfg = dict(gw.config)
    cfg["gateway"] = dict(cfg["gateway"], log={"level": "warn", "format": "json"})
    write_config(gw, cfg)
    assert reload(gw, how="admin")["outcome"] == "accepted"
    assert gw.post(SYNC, city_dossier(), headers={"X-Request-Id": "e2e-level-2"}).status == 200
    time.sleep(0.5)
    assert gw.wait_access(["e2e-level-2"], timeout=0.5) == [], "an info access line after level: warn"


def peer_serial(conn):
    return conn.sock.getpeercert(binary_form=True)


def test_rotated_certificate_served_to_new_connections(gw, sandbox, pki):
    old = KeepAliveClient(gw)
    assert old.send("POST", SYNC, city_dossier()).status == 200
    old_cert = peer_serial(old.conn)

    crt, key = sign_cert(pki, "gateway-rotated", "localhost")
    cfg = dict(gw.config)
    cfg["listeners"] = dict(cfg["listeners"])
    cfg["listeners"]["public"] = dict(cfg["listeners"]["public"])
    cfg["listeners"]["public"]["tls"] = dict(cfg["listeners"]["public"]["tls"], cert=crt, key=key)
    write_config(gw, cfg)
    assert reload(gw)["outcome"] == "accepted"

    new = KeepAliveClient(gw)
    assert new.send("POST", SYNC, city_dossier()).status == 200
    assert peer_serial(new.conn) != old_cert
    assert peer_serial(new.conn) == ssl.PEM_cert_to_DER_cert(open(crt).read())

    # The connection opened before the reload is still the same one, on the old certificate.
    sock = old.conn.sock
    assert old.send("POST", SYNC, city_dossier()).status == 200
    assert old.conn.sock is sock, "the keep-alive connection was closed by the reload"
    assert peer_serial(old.conn) == old_cert
    old.close()
    new.close()


def test_session_kept_when_auth_unchanged_and_renewed_when_changed(gw, sandbox):
    assert gw.post(SYNC, city_dossier()).status == 200
    assert sandbox.logins == 1
    # A mapping change leaves the portal's login alone: the session carries over.
    mapping = gw.workdir / "sync.yaml"
    sync_mapping_variant(mapping, "s1")
    set_sync_mapping(gw, mapping)
    assert reload(gw)["outcome"] == "accepted"
    assert answer_version(gw.post(SYNC, city_dossier())) == "s1"
    assert sandbox.logins == 1, "a reload that left the login alone logged in again"
    # Another login path is another authentication: a new session.
    cfg = dict(gw.config)
    up = dict(cfg["upstreams"]["dvcqg"])
    up["auth"] = dict(up["auth"], request=dict(up["auth"]["request"], path="/auth?again=1"))
    cfg["upstreams"] = {"dvcqg": up}
    write_config(gw, cfg)
    assert reload(gw)["outcome"] == "accepted"
    assert gw.post(SYNC, city_dossier()).status == 200
    assert sandbox.logins == 2

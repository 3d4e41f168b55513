"""Pooled curl handles (gateway/upstream.c): a handle that made one upstream's call makes the next
call of any upstream on the same loop. Whatever the first call set (CA, client certificate and key,
pin) must not carry over: an upstream without a client certificate must not present the other
one's, an upstream with the system trust store must not trust the test CA, and a pin must not stay
on the handle for the next upstream. Each refused upstream is called between calls that work, on
one worker, so that every call takes the handle the previous one returned."""

import copy

from harness import SYNC, city_dossier, dossier_code, mapping_file

# sha256 of no key anyone has: any certificate fails this pin.
WRONG_PIN = "sha256//" + "A" * 43 + "="

ODD = {
    # the test CA is not in the system trust store: the sandbox's certificate must fail
    "dvcqg_system_ca": lambda tls: {"cert": tls["cert"], "key": tls["key"]},
    # the CA, but no client certificate: the sandbox must refuse the handshake
    "dvcqg_no_cert": lambda tls: {"ca": tls["ca"]},
    # everything right but the pin
    "dvcqg_wrong_pin": lambda tls: dict(tls, pin=WRONG_PIN),
}


def add_odd_upstreams(config, pki):
    base = config["upstreams"]["dvcqg"]
    sync = config["routes"]["dvcqg.dossier.sync"]
    for name, tls_of in ODD.items():
        up = copy.deepcopy(base)
        up["tls"] = tls_of(base["tls"])
        config["upstreams"][name] = up
        route = copy.deepcopy(sync)
        route["match"] = {"method": "POST", "path": "/v1/odd/" + name}
        route["upstream"] = name
        route["mapping"] = str(mapping_file("dvcqg.dossier.sync"))
        config["routes"]["odd." + name] = route


def test_pooled_handles_forget_the_previous_upstreams_tls(gateway, sandbox):
    gw = gateway(sandbox, configure=add_odd_upstreams)
    n = 0
    for round_ in range(2):
        for name in ODD:
            n += 1
            r = gw.post(SYNC, city_dossier(dossier_code(n)))
            assert r.status == 200, f"round {round_}, before {name}: {r.status} {r.text()[:300]}"
            seen = len(sandbox.received)
            r = gw.post("/v1/odd/" + name, city_dossier(dossier_code(100 + n)))
            assert r.status == 502, f"{name} was not refused: {r.status} {r.text()[:300]}"
            code = r.json()["error"]["code"]
            assert code.startswith("upstream."), f"{name}: {code}"
            assert len(sandbox.received) == seen, \
                f"{name}: the sandbox heard {sandbox.received[seen:]}"
    n += 1
    r = gw.post(SYNC, city_dossier(dossier_code(n)))
    assert r.status == 200, r.text()[:300]
    got = [c["json"]["data"][0]["MaHoSo"] for c in sandbox.calls("DongBoHoSoMC")]
    assert got == [dossier_code(k) for k in range(1, n + 1)], got

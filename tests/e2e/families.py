"""families.py: the endpoint families of issue 3 (e-invoice and SMS partners) for the e2e tests:
their sandboxes, the upstream and route each adds to a test gateway's config, and their golden
files (the mappings' own examples), and family_fixtures for the test modules.

    partner, gw = family_fixtures("viettel-sinvoice")      # in a test module: its fixtures
    # or by hand: gateway(upstream_url=UNUSED_DVCQG, extra=families_extra(pki, {"vnpt-sms": srv}))
"""

import json

import pytest

from harness import CITY_CN, REPO

from vnpt_invoice import VnptInvoiceSandbox
from viettel_sinvoice import ViettelSinvoiceSandbox
from viettel_sms import ViettelSmsSandbox
from vnpt_sms import VnptSmsSandbox

# The dvcqg upstream every test config has; the family tests never call it.
UNUSED_DVCQG = "https://127.0.0.1:9/adapter"

SINVOICE_USER = "0100109106-509"
SINVOICE_PASS = "sinvoice-e2e-secret"
SINVOICE_CREATE = "/services/einvoiceapplication/api/InvoiceAPI/InvoiceWS/createInvoice/0100109106"


def _login_auth(path, body, token, put):
    return {"type": "login", "request": {"path": path, "body": body}, "token": token, "put": put,
            "refresh_on": {"status": [401]}}


# family -> sandbox class, its keyword arguments, its upstream's auth (or None), and its routes:
# route name -> (city path, mapping file under mappings/, upstream path or None)
FAMILIES = {
    "viettel-sinvoice": {
        "sandbox": ViettelSinvoiceSandbox,
        "kwargs": {"username": SINVOICE_USER, "password": SINVOICE_PASS},
        "auth": _login_auth("/auth/login", {"username": SINVOICE_USER, "password": SINVOICE_PASS},
                            "access_token", {"header": "Authorization", "prefix": "Bearer "}),
        "routes": {"einvoice.viettel.create": ("/v1/einvoice/viettel/invoices",
                                               "viettel-sinvoice/create-invoice.yaml", SINVOICE_CREATE)},
    },
    "vnpt-sms": {
        "sandbox": VnptSmsSandbox,
        "kwargs": {},
        "auth": None,
        "routes": {"sms.vnpt.send": ("/v1/sms/vnpt", "vnpt-sms/send-sms.yaml", None)},
    },
    "vnpt-invoice": {
        "sandbox": VnptInvoiceSandbox,
        "kwargs": {},
        "auth": None,
        "routes": {"einvoice.vnpt.receipt": ("/v1/einvoice/vnpt/receipts", "vnpt-invoice/receipt.yaml", None)},
    },
    "viettel-sms": {
        "sandbox": ViettelSmsSandbox,
        "kwargs": {},
        "auth": None,
        "routes": {"sms.viettel.send": ("/v1/sms/viettel", "viettel-sms/send-sms.yaml", None)},
    },
}


def route_path(route):
    for fam in FAMILIES.values():
        if route in fam["routes"]:
            return fam["routes"][route][0]
    raise KeyError(route)


def start_sandbox(pki, family):
    fam = FAMILIES[family]
    return fam["sandbox"](port=0, cert=pki["sandbox.crt"], key=pki["sandbox.key"], client_ca=pki["ca.crt"],
                          **fam["kwargs"]).start()


def families_extra(pki, sandboxes):
    """What gateway(extra=...) merges into the test config: each family's upstream (named after
    the family, pointing at its sandbox) and routes."""
    tls = {"ca": pki["ca.crt"], "cert": pki["gw-client.crt"], "key": pki["gw-client.key"]}
    upstreams, routes = {}, {}
    for family, srv in sandboxes.items():
        fam = FAMILIES[family]
        up = {"url": srv.url, "tls": tls, "timeout": {"connect": "2s", "total": "5s"}}
        if fam["auth"] is not None:
            up["auth"] = fam["auth"]
        upstreams[family] = up
        for name, (path, mapping, up_path) in fam["routes"].items():
            route = {"listener": "public", "match": {"method": "POST", "path": path},
                     "allow": ["CN=" + CITY_CN], "mapping": str(REPO / "mappings" / mapping),
                     "upstream": family, "mode": "sync"}
            if up_path is not None:
                route["path"] = up_path
            routes[name] = route
    return {"upstreams": upstreams, "routes": routes}


def example(family, name):
    """An example file of a family's mapping, as bytes."""
    return (REPO / "mappings" / family / "examples" / name).read_bytes()


def example_json(family, name):
    return json.loads(example(family, name))


def compact(doc):
    """The gateway's JSON writer: compact, UTF-8, members in order."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def family_fixtures(family):
    """The fixtures of a family's test module: `partner` (its sandbox, started) and `gw` (a
    gateway whose upstream `family` is that sandbox). Use: partner, gw = family_fixtures(...)."""
    @pytest.fixture
    def partner(pki):
        srv = start_sandbox(pki, family)
        yield srv
        srv.stop()

    @pytest.fixture
    def gw(gateway, pki, partner):
        return gateway(upstream_url=UNUSED_DVCQG, extra=families_extra(pki, {family: partner}))

    return partner, gw

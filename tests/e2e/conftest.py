"""conftest.py: the e2e fixtures. A session-wide development PKI (certs/gen.sh into a temporary
folder), a DVCQG sandbox per test, and a factory of gateways per test that stops each one with
SIGTERM at the end and fails the test when it did not exit cleanly or printed a sanitizer
report. The machinery itself is in harness.py."""

import pytest

from harness import Launcher, make_pki, new_sandbox


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def sandbox(pki):
    srv = new_sandbox(pki).start()
    yield srv
    srv.stop()


@pytest.fixture
def gateway(pki, tmp_path, request):
    """gateway(sandbox=..., upstream_url=..., pin=..., max_body=..., workers=..., total_timeout=...)
    starts a gateway and waits until it answers /healthz."""
    launcher = Launcher(pki, tmp_path)
    request.node.lt_launchers = [launcher]
    yield launcher.start
    problems = launcher.close()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def gw(gateway, sandbox):
    """A gateway whose upstream dvcqg is this test's sandbox."""
    return gateway(sandbox)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report shows the end of each of its gateways' stderr."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    for launcher in getattr(item, "lt_launchers", ()):
        for i, gw in enumerate(launcher.gateways, 1):
            rep.sections.append((f"gateway {i} stderr ({gw.stderr_path})", gw.stderr_tail(80)))

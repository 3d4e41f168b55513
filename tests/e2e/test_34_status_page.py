"""GET /status in headless Chromium (Debian's `chromium`): the page renders, shows the requests
this test just made, and its screenshot is kept in tests/e2e/artifacts/ (git-ignored)."""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness import SYNC, HarnessError, city_dossier
from ops import admin

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--hide-scrollbars"]


def chromium(*args):
    exe = shutil.which("chromium")
    if exe is None:
        raise HarnessError("chromium is not installed (scripts/install-deps installs it)")
    with tempfile.TemporaryDirectory(prefix="lt-chromium-") as profile:
        return subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, timeout=180)


def test_status_page_renders_in_chromium(gw, sandbox):
    for _ in range(4):
        assert gw.post(SYNC, city_dossier()).status == 200
    assert gw.post(SYNC, city_dossier(), cert="other-client").status == 403

    status, ctype, body = admin(gw, "GET", "/status")
    assert status == 200 and ctype.startswith("text/html")
    assert not re.search(rb'(src|href)=["\']?https?:', body), "the page loads an external asset"

    url = f"http://127.0.0.1:{gw.admin_port}/status"
    dom = chromium("--dump-dom", url)
    assert dom.returncode == 0, dom.stderr.decode(errors="replace")[-2000:]
    page = dom.stdout.decode("utf-8")
    row = re.search(r"<tr><td>dvcqg\.dossier\.sync</td>(.*?)</tr>", page, re.S)
    assert row, page[:3000]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    # mode, upstream, requests, per second, 4xx, 5xx, p50, p99
    assert cells[0] == "sync" and cells[1] == "dvcqg"
    assert cells[2] == "5", cells
    assert cells[4].startswith("1 (20.0%)"), cells
    assert cells[5].startswith("0 "), cells
    assert cells[6].endswith(" ms") and cells[7].endswith(" ms"), cells
    assert "closed" in page                  # the upstream's circuit
    assert "gateway.crt" in page             # certificates with days left

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "status-page.png"
    if shot.exists():
        shot.unlink()
    run = chromium(f"--screenshot={shot}", "--window-size=1280,900", url)
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-2000:]
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

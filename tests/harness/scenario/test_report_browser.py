"""The HTML report in a real headless browser (Debian's ``chromium``): the page renders, the
browser reports no console message, the summary shows the counts, a failure shows expected vs
actual with its ``file:line`` and the APDU tail, and the timeline has its legend."""

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from harness.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
PLAN = ROOT / "scenarios" / "plans" / "01_orange_blocked_alerts.yaml"
PLAIN = ROOT / "scenarios" / "01_home_france.yaml"
FAILING = """\
name: Registered on the wrong network
card: alphalink-orange
world: europe
steps:
  - power_on: {country: FR}
  - expect: {registered: "208-10"}
"""
WIDTH, HEIGHT = 1280, 2000


def _chromium(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium")
    if browser is None:
        if os.environ.get("SIMHARNESS_REQUIRE_BROWSER"):
            pytest.fail("SIMHARNESS_REQUIRE_BROWSER is set but chromium is not installed")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         "--enable-logging=stderr", "--v=0", f"--window-size={WIDTH},{HEIGHT}", *args, page.as_uri()],
        capture_output=True, text=True, timeout=180, check=True)


def _console(stderr: str) -> list[str]:
    """The page's console messages (and uncaught errors) as chromium logs them."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", (0, 0)
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return size[0], size[1], zlib.decompress(idat)


def test_the_report_renders_in_chromium_with_its_summary_and_no_console_message(tmp_path):
    failing = tmp_path / "wrong_network.yaml"
    failing.write_text(FAILING)
    report = tmp_path / "report.html"
    assert main(["run", "-q", "--report", str(report), str(PLAN), str(PLAIN), str(failing)]) == 1

    shot = tmp_path / "report.png"
    run = _chromium(tmp_path, report, f"--screenshot={shot}")
    assert _console(run.stderr) == []
    width, height, pixels = _png_pixels(shot)
    assert (width, height) == (WIDTH, HEIGHT)
    assert len(set(pixels)) > 50  # text, a chart and colours, not a blank page

    dom = _chromium(tmp_path, report, "--dump-dom")
    assert _console(dom.stderr) == []
    html = dom.stdout
    assert '<span class="passed" data-count="passed">2 passed</span>' in html
    assert '<span class="failed" data-count="failed">1 failed</span>' in html
    assert "3 scenarios · started " in html and " UTC · duration " in html and "simharness 0.1" in html
    failure = html[html.index('<pre class="failure">'):]
    failure = failure[:failure.index("</pre>")]
    assert f"{failing}:6: step 2 (expect" in failure
    assert "expected: '208-10'" in failure and "actual:   '208-01'" in failure
    assert "last 12 APDUs:" in failure and "TERMINAL RESPONSE 8014" in failure
    assert "AUTHENTICATE 0088" in failure and "10" + "*" * 32 in failure  # CK and IK masked
    assert html.count('data-legend="') == 8
    assert "used=24GB limit=30GB" in html  # human units, not 24000000000


def test_the_console_check_sees_a_console_error(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><script>console.error("broken page")</script></body></html>')
    assert any('"broken page"' in line for line in _console(_chromium(tmp_path, page, "--dump-dom").stderr))

"""The HTML pages in a real browser: headless Chromium renders them, no console errors, a screenshot."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from html_run_helpers import run_demo  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (Debian: apt-get install -y chromium; .ci/run does it)"
)
STUDY = Path(__file__).parent / "data/study"
#: Console lines Chromium prints for page errors (uncaught exceptions, failed loads, CSP, ...).
CONSOLE = re.compile(r":CONSOLE[:(]|Uncaught|Failed to load resource|net::ERR_", re.IGNORECASE)


def chromium(url: str, *args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    cmd = [str(CHROMIUM), "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
           "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}", *args, url]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)


def render(page: Path, tmp: Path) -> tuple[str, Path]:
    """The page's DOM after rendering and a screenshot of it; asserts no console error."""
    url = page.resolve().as_uri()
    dom = chromium(url, "--dump-dom", profile=tmp / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert not CONSOLE.findall(dom.stderr), [line for line in dom.stderr.splitlines() if CONSOLE.search(line)]
    shot = tmp / f"{page.stem}.png"
    png = chromium(url, f"--screenshot={shot}", "--window-size=1280,2400", profile=tmp / "profile-shot")
    assert png.returncode == 0 and shot.is_file(), png.stderr[-2000:]
    return dom.stdout, shot


def assert_not_blank(shot: Path) -> None:
    from PIL import Image

    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(shot) as img:
        assert img.size == (1280, 2400)
        colours = img.convert("RGB").resize((128, 240)).getcolors(maxcolors=1 << 16) or []
        assert len(colours) > 50  # text, charts and tables, not one flat colour


def test_run_report_in_chromium(tmp_path: Path) -> None:
    state, out, _ = run_demo(tmp_path)
    dom, shot = render(out / "reports/report.html", tmp_path)
    for anchor in ("funnel", "rejects", "examples", "split", "gates", "contamination", "tokens"):
        assert f'id="{anchor}"' in dom
    accepted = state.accepted.height
    assert f">{accepted}<" in dom and f">{state.val.height}<" in dom
    assert "<mark>cannot spend more than</mark>" in dom
    assert dom.count("<svg") >= 2 and "Rejected rows by rule and source" in dom
    assert_not_blank(shot)


def test_study_page_in_chromium(tmp_path: Path) -> None:
    from dq_reports.html.compare import compare

    page = tmp_path / "study.html"
    result = CliRunner().invoke(compare, [str(STUDY), "--html", str(page)])
    assert result.exit_code == 0, result.output
    dom, shot = render(page, tmp_path)
    for anchor in ("accuracy", "disagreement", "nll", "lr"):
        assert f'id="{anchor}"' in dom
    for number in ("0.8453", "0.9055", "0.9009", "+6.015", "+5.560", "90.55%", "baseline 84.53%"):
        assert number in dom
    assert "N=3 seeds per condition" in dom
    assert_not_blank(shot)


def test_console_errors_are_seen(tmp_path: Path) -> None:
    """The console check itself: a page that logs and throws is caught (so a clean run means clean)."""
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><script>console.error("boom"); nosuch();</script></body></html>')
    dom = chromium(bad.as_uri(), "--dump-dom", profile=tmp_path / "profile")
    assert len(CONSOLE.findall(dom.stderr)) >= 2

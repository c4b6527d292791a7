"""``simharness run --report``: the HTML timeline of a plan scenario, read back with html.parser."""

from html.parser import HTMLParser
from pathlib import Path

from harness.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
SCENARIO = ROOT / "scenarios" / "plans" / "01_orange_blocked_alerts.yaml"
PLAIN = ROOT / "scenarios" / "01_home_france.yaml"


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.section: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "section":
            self.section = a.get("data-id")
        self.tags.append((tag, {**a, "_section": self.section or ""}))


def _parse(path: Path) -> _Collect:
    p = _Collect()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_report_marks_alerts_and_block_on_the_envelope_timeline(tmp_path):
    out = tmp_path / "out.html"
    assert main(["run", "-q", "--report", str(out), str(SCENARIO), str(PLAIN)]) == 0
    page = _parse(out)
    assert not [t for t, _ in page.tags if t == "script"]  # self-contained, no JS
    ours = [(t, a) for t, a in page.tags if a["_section"] == "01_orange_blocked_alerts"]
    svgs = [a for t, a in ours if t == "svg"]
    assert len(svgs) == 1
    meters = [a["data-meter"] for t, a in ours if t == "polyline"]
    assert meters == ["envelope"]
    alerts = [a for t, a in ours if {"marker", "alert"} <= set(a.get("class", "").split())]
    assert [(a["data-percent"], a["data-meter"]) for a in alerts] == [("80", "envelope"), ("100", "envelope")]
    assert float(alerts[0]["data-time"]) < float(alerts[1]["data-time"])
    blocks = [a for t, a in ours if {"marker", "block"} <= set(a.get("class", "").split())]
    assert [(a["data-kind"], a["data-meter"]) for a in blocks] == [("block", "envelope")]
    assert float(blocks[0]["data-time"]) == float(alerts[1]["data-time"])
    months = [a["data-month"] for t, a in ours if "month" in a.get("class", "").split()]
    assert months == ["2026-04"]
    # the scenario without a plan gets a section but no timeline
    plain = [(t, a) for t, a in page.tags if a["_section"] == "01_home_france"]
    assert plain and not [t for t, _ in plain if t == "svg"]

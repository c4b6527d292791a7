"""The report's summary header, its single-instant axis and its units, read back with html.parser."""

from datetime import UTC, datetime
from html.parser import HTMLParser

from harness.events import EventLog

from harness.scenario.report import LEFT, RIGHT, WIDTH, ReportEntry, RunSummary, render


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _Tags:
    p = _Tags()
    p.feed(page)
    return p


def _single_instant_run() -> list:
    log = EventLog()
    log.record("usage", usage="data", zone="france", amount=8 * 10**9, accepted=8 * 10**9, rejected=0,
               meters={"envelope": (8 * 10**9, 10 * 10**9, "B")})
    log.record("alert", meter="envelope", zone="france", percent=80, used=8 * 10**9, limit=10 * 10**9)
    return list(log)


def test_every_event_at_one_instant_is_drawn_mid_axis_with_one_date():
    start = datetime(2026, 3, 1)
    page = render([ReportEntry("one", "one instant", "one.yaml", "passed", _single_instant_run(), start)])
    tags = _parse(page)
    middle = LEFT + (WIDTH - LEFT - RIGHT) / 2
    points = next(a["points"] for t, a in tags.tags if t == "polyline").split()
    assert {float(p.split(",")[0]) for p in points} == {middle}
    alert = next(a for t, a in tags.tags if t == "circle")
    assert float(alert["cx"]) == middle
    assert "2026-03-01T00:00 (every event at this instant)" in tags.text


def test_volumes_are_shown_in_gb_and_mb():
    text = "".join(_parse(render([ReportEntry("one", "x", "x.yaml", "passed", _single_instant_run())])).text)
    assert "used=8GB limit=10GB" in text and "amount=8GB" in text
    assert "8000000000" not in text


def test_the_summary_counts_every_verdict_and_names_date_duration_versions():
    entries = [ReportEntry(str(i), "s", "s.yaml", verdict, [], duration=0.25)
               for i, verdict in enumerate(["passed", "passed", "failed", "xfailed", "skipped"])]
    run = RunSummary(datetime(2026, 12, 7, 4, 30, tzinfo=UTC), 125.0, 1, "simulated card in-process")
    tags = _parse(render(entries, run=run))
    counts = {a["data-count"]: None for t, a in tags.tags if t == "span" and "data-count" in a}
    assert list(counts) == ["passed", "failed", "xfailed", "skipped", "invalid"]
    text = " ".join(tags.text)
    for shown in ("2 passed", "1 failed", "1 xfailed", "1 skipped", "1 invalid", "5 scenarios",
                  "started 2026-12-07 04:30:00 UTC", "duration 2 min 5 s", "250 ms", "python 3."):
        assert shown in text, shown

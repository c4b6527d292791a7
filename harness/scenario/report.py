"""HTML report of a scenario run: per scenario, usage against envelope and cut-offs over time.

``simharness run --report out.html`` writes one self-contained page (inline CSS and SVG, no
script). For every scenario with a plan, the timeline is drawn from the run's event log: each
meter of the line (the envelope, the Bouygues Telecom Europe cut-off in EUR, one meter per
roaming zone) as a line in percent of its limit, the 80 % and 100 % thresholds of the alert
table of the AlphaLink mobile reference, and markers for alerts, blocks, reduced throughput,
unblocking, rejected usage and month starts, explained by a legend; a scenario whose events all
happen at one instant is drawn at the middle of its axis. A table lists the plan events with their
simulated date, volumes in GB/MB and amounts in EUR. The page opens with a summary: counts per
verdict, date, duration and versions; a failed scenario shows its failure as the run printed it
(the step's ``file:line``, expected vs actual, the last APDUs, secrets masked).
"""

from __future__ import annotations

import html
import platform
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness.events import Event

#: plan events shown in the report's table
PLAN_EVENTS = (
    "line_activated", "usage", "usage_rejected", "alert", "block", "throttle", "unblock",
    "throughput_restored", "cutoff_changed", "cutoff_rejected", "option_changed", "option_rejected",
    "recharge_ordered", "recharge_warning", "recharge_applied", "recharge_rejected",
    "change_requested", "change_applied", "change_rejected", "month_start", "bill", "fair_use",
    "sms_suspended", "sms_resumed", "session_rejected", "session_cut", "cancellation",
    "deactivated", "reboot_required", "rebooted",
)
#: markers drawn on the timeline: event kind -> (css class, shape)
MARKERS = {
    "alert": "alert", "block": "block", "throttle": "throttle", "unblock": "unblock",
    "throughput_restored": "unblock", "usage_rejected": "rejected", "session_rejected": "rejected",
}
COLOURS = {
    "envelope": "#1f77b4", "europe": "#2ca02c", "usa_canada": "#9467bd",
    "maghreb_turkey": "#8c564b", "world": "#ff7f0e",
}
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 820, 280, 56, 150, 16, 40

CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:2em}
.passed{color:#1a7f37} .failed,.xpassed{color:#c62828} .xfailed{color:#b26a00}
table{border-collapse:collapse;font-size:.85em} td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
svg{background:#fafafa;border:1px solid #ddd} .axis{stroke:#888} .grid{stroke:#ccc;stroke-dasharray:3 3}
.limit{stroke:#c62828;stroke-dasharray:6 3} .threshold{stroke:#e0a000;stroke-dasharray:4 4}
.month{stroke:#999;stroke-dasharray:2 2} text{font-size:11px}
.alert{fill:#e0a000;stroke:#222} .block{fill:#c62828} .throttle{fill:#ff7f0e}
.unblock{fill:#1a7f37} .rejected{fill:none;stroke:#c62828}
pre{background:#f4f4f4;padding:8px;overflow:auto;font-size:.8em}
pre.failure{border-left:4px solid #c62828}
#summary{border:1px solid #ddd;padding:8px 12px;background:#fafafa}
.counts span{margin-right:1em;font-weight:600}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:.85em}
.legend b{font-size:1.2em}
"""
#: the legend: (css class, symbol, colour as drawn on the timeline, meaning)
LEGEND = (
    ("alert", "\u25cf", "#e0a000", "alert sent (80 % / 100 %)"),
    ("block", "\u25a0", "#c62828", "data blocked"),
    ("throttle", "\u25b2", "#ff7f0e", "throughput reduced"),
    ("unblock", "\u25b2", "#1a7f37", "unblocked / throughput restored"),
    ("rejected", "\u25a1", "#c62828", "usage or session rejected"),
    ("threshold", "\u254c", "#e0a000", "80 % alert threshold"),
    ("limit", "\u254c", "#c62828", "100 %: envelope or cut-off"),
    ("month", "\u2506", "#999", "month start"),
)
VERDICTS = ("passed", "failed", "xfailed", "xpassed", "skipped")


@dataclass
class ReportEntry:
    """One scenario's outcome and its event log."""

    id: str
    name: str
    source: str
    verdict: str
    events: Sequence[Event]
    start: datetime | None = None
    message: str = ""  # a failure: as the run printed it (file:line, expected vs actual, APDU tail)
    duration: float | None = None  # seconds of wall time


@dataclass
class RunSummary:
    """What the header says about the whole run."""

    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    duration: float | None = None  # seconds of wall time
    invalid: int = 0  # files that did not load
    target: str = ""  # where the card was


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _amount(meter: tuple[Any, ...], value: int) -> str:
    from harness.plans.units import format_volume

    return f"{value / 10**9:.2f} EUR" if meter[2] == "nEUR" else format_volume(value)


def _when(start: datetime | None, seconds: float) -> str:
    if start is None:
        return f"t={seconds:g}s"
    return (start + timedelta(seconds=seconds)).isoformat(timespec="minutes")


def versions() -> dict[str, str]:
    """The versions a report names: simharness, Python, the platform."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        own = version("simharness")
    except PackageNotFoundError:
        own = "(not installed)"
    return {"simharness": own, "python": platform.python_version(), "platform": platform.platform(terse=True)}


def _seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{int(value // 60)} min {value % 60:.0f} s"


def summary_html(entries: Sequence[ReportEntry], run: RunSummary) -> str:
    """The header: counts per verdict, date, duration, versions."""
    counts = {v: sum(e.verdict == v for e in entries) for v in VERDICTS}
    parts = [f'<span class="{v}" data-count="{v}">{n} {v}</span>' for v, n in counts.items()
             if n or v in ("passed", "failed")]
    if run.invalid:
        parts.append(f'<span class="failed" data-count="invalid">{run.invalid} invalid</span>')
    facts = [f"{len(entries)} scenarios", f"started {run.started.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"]
    if run.duration is not None:
        facts.append(f"duration {_seconds(run.duration)}")
    if run.target:
        facts.append(f"on the {run.target}")
    vers = ", ".join(f"{k} {v}" for k, v in versions().items())
    return (f'<header id="summary"><p class="counts">{"".join(parts)}</p>'
            f"<p>{_e(' · '.join(facts))}</p><p>{_e(vers)}</p></header>")


def _shape(cls: str, shape: str, cx: float, cy: float, attrs: str = "", title: str = "") -> str:
    """One timeline marker centred on ``cx, cy``."""
    inner = f"<title>{title}</title>" if title else ""
    if shape == "circle":
        return f'<circle class="{cls}" {attrs} cx="{cx:.1f}" cy="{cy:.1f}" r="5">{inner}</circle>'
    if shape == "square":
        return (f'<rect class="{cls}" {attrs} x="{cx - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10">'
                f"{inner}</rect>")
    return (f'<polygon class="{cls}" {attrs} points="{cx:.1f},{cy - 6:.1f} {cx - 6:.1f},{cy + 5:.1f} '
            f'{cx + 6:.1f},{cy + 5:.1f}">{inner}</polygon>')


def legend() -> str:
    """What the markers and lines of a timeline mean."""
    items = [f'<li data-legend="{cls}"><b style="color:{colour}">{symbol}</b> {_e(text)}</li>'
             for cls, symbol, colour, text in LEGEND]
    return f'<ul class="legend">{"".join(items)}</ul>'


def _plan_events(events: Iterable[Event]) -> list[Event]:
    return sorted((e for e in events if e.kind in PLAN_EVENTS), key=lambda e: (e.time, e.seq))


def timeline(events: Sequence[Event], start: datetime | None = None) -> str:
    """The inline SVG of one run's meters against time, with alert/block markers."""
    plan = _plan_events(events)
    snaps = [e for e in plan if "meters" in e.data]
    if not snaps:
        return ""
    t_end = max(e.time for e in plan)
    series: dict[str, list[tuple[float, float]]] = {}
    last: dict[str, tuple[Any, ...]] = {}
    for e in snaps:
        for name, meter in e.data["meters"].items():
            used, limit = meter[0], meter[1]
            series.setdefault(name, []).append((e.time, 100.0 * used / limit))
            last[name] = tuple(meter)
    if not series:
        return ""
    top = max(120.0, min(200.0, max(p for s in series.values() for _, p in s) + 10))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        if t_end <= 0:  # every event at one instant: the middle of the axis, not its left edge
            return LEFT + plot_w / 2
        return LEFT + plot_w * t / t_end

    def y(pct: float) -> float:
        return TOP + plot_h * (1 - min(pct, top) / top)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="timeline">']
    bottom = TOP + plot_h
    out.append(f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{LEFT + plot_w}" y2="{bottom}"/>')
    out.append(f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/>')
    for pct in range(0, int(top) + 1, 20):
        out.append(f'<text x="{LEFT - 6}" y="{y(pct) + 4:.1f}" text-anchor="end">{pct}%</text>')
    for pct, cls, label in ((80, "threshold", "80 % alert"), (100, "limit", "100 % = envelope / cut-off")):
        yy = f"{y(pct):.1f}"
        out.append(f'<line class="{cls}" x1="{LEFT}" y1="{yy}" x2="{LEFT + plot_w}" y2="{yy}">'
                   f"<title>{label}</title></line>")
    for e in plan:
        if e.kind == "month_start":
            out.append(f'<line class="month" data-month="{_e(e.data.get("month"))}" x1="{x(e.time):.1f}" '
                       f'y1="{TOP}" x2="{x(e.time):.1f}" y2="{TOP + plot_h}"><title>month '
                       f'{_e(e.data.get("month"))}</title></line>')
    if t_end <= 0:
        out.append(f'<text class="instant" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 12}" '
                   f'text-anchor="middle">{_e(_when(start, 0))} (every event at this instant)</text>')
    else:
        for i, label in enumerate((_when(start, 0), _when(start, t_end))):
            out.append(f'<text x="{LEFT if i == 0 else LEFT + plot_w}" y="{HEIGHT - 12}" '
                       f'text-anchor="{"start" if i == 0 else "end"}">{_e(label)}</text>')
    for n, (name, points) in enumerate(series.items()):
        colour = COLOURS.get(name, "#555")
        pts = []
        prev = None
        for t, pct in points:
            if prev is not None:
                pts.append(f"{x(t):.1f},{y(prev):.1f}")  # steps: usage arrives in records
            pts.append(f"{x(t):.1f},{y(pct):.1f}")
            prev = pct
        out.append(f'<polyline class="meter" data-meter="{_e(name)}" fill="none" stroke="{colour}" '
                   f'stroke-width="2" points="{" ".join(pts)}"/>')
        meter = last[name]
        out.append(f'<text x="{LEFT + plot_w + 8}" y="{TOP + 14 + 16 * n}" fill="{colour}">'
                   f'{_e(name)} {_e(_amount(meter, meter[1]))}</text>')
    for e in plan:
        cls = MARKERS.get(e.kind)
        if cls is None:
            continue
        meter = e.data.get("meter") or "envelope"
        if e.kind == "alert":
            pct = float(e.data["percent"])
        elif "used" in e.data and e.data.get("limit"):
            pct = 100.0 * e.data["used"] / e.data["limit"]
        else:
            pct = 100.0
        cx, cy = x(e.time), y(pct)
        title = _e(f"{_when(start, e.time)} {e.kind} {meter}: "
                   + str(e.data.get("message") or e.data.get("reason") or e.data.get("percent") or ""))
        attrs = f'data-kind="{_e(e.kind)}" data-meter="{_e(meter)}" data-time="{e.time:g}"'
        if e.kind == "alert":
            attrs += f' data-percent="{_e(e.data["percent"])}"'
        shape = "circle" if e.kind == "alert" else "square" if cls in ("block", "rejected") else "triangle"
        out.append(_shape(f"marker {cls}", shape, cx, cy, attrs, title))
    out.append("</svg>")
    return "\n".join(out)


def _units(events: Iterable[Event]) -> dict[str, str]:
    """Meter name -> its unit (``B`` or ``nEUR``), from the meter snapshots of the events."""
    return {name: meter[2] for e in events for name, meter in (e.data.get("meters") or {}).items()}


def _details(e: Event, units: dict[str, str] | None = None) -> str:
    """The event's fields, volumes in GB/MB and cut-off amounts in EUR."""
    from harness.plans.units import format_volume

    unit = (units or {}).get(e.data.get("meter") or "envelope", "B")
    parts = []
    for k, v in e.data.items():
        if k in ("line", "meters"):
            continue
        if k in ("amount", "accepted", "rejected") and e.data.get("usage") == "data" and isinstance(v, int):
            v = format_volume(v)
        if k in ("used", "limit", "volume") and isinstance(v, int) and not isinstance(v, bool):
            v = f"{v / 10**9:.2f} EUR" if unit == "nEUR" else format_volume(v)
        if k == "items":
            v = "; ".join(f"{i['label']}: {i['amount']}" for i in v)
        parts.append(f"{k}={v}")
    return " ".join(parts)


def render(entries: Sequence[ReportEntry], title: str = "simharness scenario report",
           run: RunSummary | None = None) -> str:
    """The whole page."""
    body = [f"<h1>{_e(title)}</h1>", summary_html(entries, run or RunSummary()),
            "<table><tr><th>scenario</th><th>result</th><th>duration</th></tr>"]
    for i, r in enumerate(entries):
        took = _seconds(r.duration) if r.duration is not None else ""
        body.append(f'<tr><td><a href="#s{i}">{_e(r.id)}</a></td><td class="{_e(r.verdict)}">'
                    f"{_e(r.verdict)}</td><td>{_e(took)}</td></tr>")
    body.append("</table>")
    for i, r in enumerate(entries):
        body.append(f'<section class="scenario" id="s{i}" data-id="{_e(r.id)}">')
        body.append(f'<h2>{_e(r.id)}: {_e(r.name)} <span class="{_e(r.verdict)}">{_e(r.verdict)}</span></h2>')
        body.append(f"<p>{_e(r.source)}</p>")
        if r.message:
            cls = "failure" if r.verdict in ("failed", "xpassed", "xfailed") else "message"
            body.append(f'<pre class="{cls}">{_e(r.message)}</pre>')
        svg = timeline(r.events, r.start)
        if not svg:
            body.append("<p>No plan in this scenario: no usage timeline.</p>")
        else:
            body.append(svg)
            body.append(legend())
            units = _units(r.events)
            body.append("<table><tr><th>when</th><th>event</th><th>details</th></tr>")
            for e in _plan_events(r.events):
                body.append(f'<tr class="event {_e(e.kind)}"><td>{_e(_when(r.start, e.time))}</td>'
                            f"<td>{_e(e.kind)}</td><td>{_e(_details(e, units))}</td></tr>")
            body.append("</table>")
        body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write(path: str | Path, entries: Sequence[ReportEntry], run: RunSummary | None = None) -> None:
    """Write the report (parent directories created)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(entries, run=run), encoding="utf-8")

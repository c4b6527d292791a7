"""A run's event logs as JSON lines: one object per event, with the scenario it belongs to.

``{"scenario": ID, "seq": N, "time": T, "kind": K, "data": {...}}``; bytes are upper-case hex.
Two runs of the same scenarios on two transports give the same lines, the simulated time
included, when the card answers the same (see ``simharness run --events``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.events import Event


def jsonable(value: Any) -> Any:
    """``value`` with bytes as hex, Decimals and other objects as text, containers walked."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex().upper()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def event_record(scenario: str, ev: Event) -> dict[str, Any]:
    """One line of the export; an APDU's PIN/PUK/ADM value and AUTHENTICATE keys are masked."""
    data = jsonable(ev.data)
    if ev.kind == "apdu":
        from harness.readers.trace import mask_command, mask_response

        command, response = ev.data["command"], ev.data["response"]
        data.update(command=mask_command(command), response=mask_response(command, response))
    return {"scenario": scenario, "seq": ev.seq, "time": ev.time, "kind": ev.kind, "data": data}


def write_events(path: str | os.PathLike[str], runs: Iterable[tuple[str, Iterable[Event]]]) -> None:
    """Write the event logs of ``runs`` (scenario id, events) to ``path``: a file atomically; a
    path that is something else (``/dev/stdout``, a FIFO, a device) is written to as it is, never
    replaced by a file."""
    target = Path(path)
    if os.path.exists(target) and not target.is_file():  # a directory fails to open: an OSError
        with open(target, "w", encoding="utf-8") as out:
            _write_runs(out, runs)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            _write_runs(out, runs)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_runs(out: Any, runs: Iterable[tuple[str, Iterable[Event]]]) -> None:
    for scenario, events in runs:
        for ev in events:
            out.write(json.dumps(event_record(scenario, ev), sort_keys=True) + "\n")

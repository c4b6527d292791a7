"""``simharness list cards|worlds|operators|plans|offers|events``: what the bundled fixtures hold,
and the event kinds a scenario can expect.

Each entry is one line: its name (what a scenario's ``card:``, ``world:``, an ``mno:``, an
``offer:`` or the ``kind:`` of an ``events:`` expectation names) and a description read from the
fixture itself, through the loader that uses it (for events, from :mod:`harness.event_kinds`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from harness.paths import FIXTURES

Entry = dict[str, str]


def cards() -> list[Entry]:
    """The card profiles of ``fixtures/cards`` (``card:`` of a scenario)."""
    from csim.profile import bundled_profiles, load_profile, resolve_path

    out = []
    for name in bundled_profiles():
        profile = load_profile(resolve_path(name))
        imsis = ", ".join(f"{k} {p.imsi}" for k, p in profile.imsi_profiles.items())
        out.append({"name": name, "description": profile.description or "", "detail": f"IMSI {imsis}",
                    "source": str(profile.source)})
    return out


def worlds() -> list[Entry]:
    """The network worlds of ``fixtures/networks`` (``world:`` of a scenario)."""
    from harness.network.world import World

    out = []
    for path in sorted((FIXTURES / "networks").glob("*.yaml")):
        world = World.load(path)
        out.append({"name": world.name, "description": world.description,
                    "detail": f"{len(world.countries)} countries, {len(world.operators)} operators",
                    "source": str(path)})
    return out


def operators() -> list[Entry]:
    """The providers and network operators of ``fixtures/operators`` (an ``mno:``)."""
    from harness.network import operators as ops

    return [{"name": op.key, "description": op.name, "detail": f"PLMN {op.plmn}" if op.plmn else "",
             "source": op.source}
            for op in sorted(ops.load_all().operators.values(), key=lambda o: o.key)]


def plans() -> list[Entry]:
    """The providers' offer catalogues of ``fixtures/plans``."""
    from harness.plans.catalogue import default_catalogue

    return [{"name": p.id, "description": p.label, "detail": f"{len(p.offers)} offers", "source": p.source}
            for p in sorted(default_catalogue().providers.values(), key=lambda p: p.id)]


def offers() -> list[Entry]:
    """Every orderable offer (``offer:`` of a ``subscribe`` step)."""
    from harness.plans.catalogue import default_catalogue
    from harness.plans.units import format_volume

    out = []
    for offer in sorted(default_catalogue().offers.values(), key=lambda o: o.id):
        size = "metered" if offer.metered else format_volume(offer.volume) if offer.volume else "no data"
        out.append({"name": offer.id, "description": offer.label,
                    "detail": f"{offer.provider} on {offer.network}, {size}", "source": offer.provider})
    return out


def events() -> list[Entry]:
    """The event kinds of the run's log (``kind:`` of an ``events:`` expectation)."""
    from harness import event_kinds

    return [{"name": kind, "description": what, "detail": event_kinds.EMITTER[kind],
             "source": event_kinds.__name__} for kind, what in event_kinds.KINDS.items()]


KINDS: dict[str, Callable[[], list[Entry]]] = {
    "cards": cards, "worlds": worlds, "operators": operators, "plans": plans, "offers": offers,
    "events": events,
}


def cmd_list(args: argparse.Namespace) -> int:
    entries = KINDS[args.kind]()
    if args.json:
        json.dump(entries, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    width = max((len(e["name"]) for e in entries), default=0)
    for e in entries:
        detail = f"  ({e['detail']})" if e["detail"] else ""
        print(f"{e['name']:<{width}}  {e['description']}{detail}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the bundled cards, worlds, operators, plans or offers, or "
                                    "the event kinds",
                       description="List what the bundled fixtures hold, or the event kinds an events: "
                                   "expectation names, one line each: the name a scenario uses and a "
                                   "description.")
    p.add_argument("kind", choices=list(KINDS), metavar="KIND",
                   help="what to list: " + ", ".join(KINDS))
    p.add_argument("--json", action="store_true", help="JSON output: a list of {name, description, detail, "
                                                       "source}")
    p.set_defaults(func=cmd_list)

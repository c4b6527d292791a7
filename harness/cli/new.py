"""``simharness new scenario NAME --card C --world W``: a commented scenario to start from.

The template powers the card on in its home country (the country of its active IMSI's home
network in the world) and expects it registered there with normal service; a card whose home
network the world lacks is switched on in its IMSI's country, else the world's first, with the
expectation left to write (commented). It is checked with the scenario loader before it is written, so
what is written validates.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from csim.yamlsrc import DataError

TEMPLATE = """\
# {title}: a scenario for `simharness run` (and `pytest`, which collects scenarios/*.yaml).
# Steps run in order; `expect` checks the state after the step before it. Step kinds and
# expectation keys: docs/scenarios.md; the full schema: scenarios/schema.json.
name: {title}
description: >-
  What the journey shows and the rule it checks, with the clause or the provider document
  section it comes from (e.g. TS 23.122 §4.4.3.1, or "the AlphaLink mobile reference").
card: {card}  # `simharness list cards`
world: {world}  # `simharness list worlds`
markers: [draft]  # select with `simharness run -m draft`
steps:
  # Switch the device on in {country_name}: the terminal reads the card, selects a network and
  # registers (TS 23.122 §4.4.3.1).
  - power_on: {{country: {country}}}
{expect}  # Next steps, for example:
  # - move: {{country: BE}}            # cross a border (the world's countries)
  # - wait: 10m                      # let simulated time pass
  # - expect: {{roaming: true}}
"""


def render(name: str, card: str, world: str) -> str:
    """The template text for ``card`` in ``world`` (``DataError`` when either is unknown)."""
    from csim.profile import bundled_profiles, load_profile, resolve_path
    from harness.network.world import World
    from harness.network.world import resolve as world_path

    if not resolve_path(card).is_file():
        raise DataError("<command line>", None, f"unknown card {card!r}; bundled cards: "
                        f"{', '.join(bundled_profiles())} (`simharness list cards`)")
    if not world_path(world).is_file():
        raise DataError("<command line>", None, f"unknown world {world!r} (`simharness list worlds`)")
    profile = load_profile(resolve_path(card))
    net = World.load(world)
    imsi = profile.imsi_profiles[profile.active].imsi
    plmn = net.home_plmn_of(imsi)
    country = net.country_of_plmn(plmn) if plmn else None
    if plmn is not None and country is not None:
        expect = (f'  - expect:\n      registered: "{plmn}"  # the home network of IMSI {imsi}\n'
                  "      service: normal\n")
    else:  # the home network is not in this world: what the card finds here is the scenario's to say
        country = net.country_of_mcc(imsi[:3]) or next(iter(net.countries.values()))
        expect = (f"  # IMSI {imsi}: its home network is not in world {world}; write what the card\n"
                  "  # should find here, e.g.\n  # - expect: {registered: \"208-01\", roaming: true}\n")
    return TEMPLATE.format(title=name.replace("_", " ").replace("-", " "), card=card, world=world,
                           country=country.code, country_name=country.name, expect=expect)


def cmd_new_scenario(args: argparse.Namespace) -> int:
    from harness.scenario import loader

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", args.name):
        print(f"error: {args.name!r}: a scenario name is letters, digits, '-', '_' and '.'", file=sys.stderr)
        return 2
    target = Path(args.output) if args.output else Path(args.name if args.name.endswith(".yaml")
                                                         else f"{args.name}.yaml")
    if target.exists():
        print(f"error: {target} exists; choose another name or --output", file=sys.stderr)
        return 2
    text = render(Path(args.name).stem, args.card, args.world)
    tmp = target.with_name(f".{target.stem}.new.yaml")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
    except OSError as exc:  # a folder that cannot be made or written (/proc, read-only, full)
        print(f"error: {target}: cannot write it ({exc.strerror or exc})", file=sys.stderr)
        return 2
    try:
        loader.load_file(tmp)  # what is written validates
    except DataError:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(target)
    print(f"wrote {target}: check it with `simharness validate {target}`, "
          f"run it with `simharness run {target}`")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="write a commented template to start from",
                       description="Write a commented template to start from.")
    what = p.add_subparsers(dest="new_command", required=True, metavar="WHAT")
    s = what.add_parser("scenario", help="a scenario file that validates and runs",
                        description="Write NAME.yaml: a scenario powering CARD on in its home country of "
                                    "WORLD, with comments on what to add.")
    s.add_argument("name", metavar="NAME", help="file name without .yaml (also the scenario's title)")
    s.add_argument("--card", required=True, metavar="CARD", help="card profile (`simharness list cards`)")
    s.add_argument("--world", default="europe", metavar="WORLD",
                   help="network world (`simharness list worlds`; default europe)")
    s.add_argument("-o", "--output", metavar="FILE", help="where to write (default NAME.yaml here)")
    s.set_defaults(func=cmd_new_scenario)

"""The ``simharness`` command line.

Each command group lives in its own module exposing ``register(subparsers)``; the
module sets ``func`` on its parsers, which returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from csim.yamlsrc import DataError

COMMAND_MODULES = (
    "harness.cli.card",
    "harness.cli.run",
    "harness.cli.readers",
    "harness.cli.smdp",
    "harness.cli.listing",
    "harness.cli.new",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simharness", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"simharness {_version()}",
                        help="print the installed version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("simharness")
    except PackageNotFoundError:
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

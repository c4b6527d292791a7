"""pytest plugin for the hardware-in-the-loop suite (``pytest -m hil``).

``--reader N|NAME`` runs the suite against the card in that PC/SC reader.  Without it,
the plugin starts a private ``pcscd`` (own mount + network namespaces when possible, so
parallel workers and a system pcscd never collide), serves a simulated card from
``--hil-profile`` through vpcd, waits until the reader shows the card, and tears both
down at the end: the same tests run in CI and on a bench.

Real cards are read-only unless ``--allow-write``; PINs come from ``SIMHARNESS_PIN1``
(physical cards) or the served profile; every APDU goes to the trace file
(``--hil-trace``, default ``<basetemp>/hil-trace.jsonl``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.paths import FIXTURES
from harness.readers.pcsc import PIN1_ENV, wait_for_card, wait_for_no_card

DEFAULT_PROFILE = FIXTURES / "cards" / "alphalink-orange.yaml"
REQUIRE_ENV = "SIMHARNESS_REQUIRE_PCSC"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("simharness-hil", "simharness hardware-in-the-loop (PC/SC)")
    group.addoption("--reader", default=None, metavar="N|NAME",
                    help="PC/SC reader (index or name) holding the card under test; "
                         "default: a simulated card served through a private pcscd")
    group.addoption("--allow-write", action="store_true", default=False,
                    help="allow commands that modify the card (UPDATE, PIN change/unblock)")
    group.addoption("--expect-profile", default=None, metavar="FILE",
                    help="profile file the card must match (personalisation check)")
    group.addoption("--hil-profile", default=str(DEFAULT_PROFILE), metavar="FILE",
                    help="profile of the simulated card served when no --reader is given")
    group.addoption("--hil-trace", default=None, metavar="FILE", help="APDU trace file")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hil: hardware-in-the-loop tests against a card in a PC/SC reader")


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"PC/SC required ({REQUIRE_ENV} is set) but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pcscd_service() -> Iterator[Any]:
    """A private pcscd with the vpcd reader, this process's PC/SC client pointed at it."""
    from harness.readers.vpcd import PcscdService, missing_parts

    missing = missing_parts()
    if missing:
        _unavailable(missing)
    service = PcscdService()
    try:
        service.start()
    except RuntimeError as exc:
        _unavailable(f"cannot start a private pcscd: {exc}")
    service.activate()
    yield service
    service.stop()


@pytest.fixture
def serve_card(pcscd_service: Any) -> Iterator[Callable[..., Any]]:
    """``serve_card(card, slot=1, wait=True) -> VpcdCard``: put a card in a vpcd slot for one test."""
    from harness.readers.vpcd import VpcdCard

    served: list[VpcdCard] = []

    def serve(card: Any, slot: int = 1, wait: bool = True, **kwargs: Any) -> VpcdCard:
        vcard = VpcdCard(card, port=pcscd_service.port + slot, socket_factory=pcscd_service.socket_factory,
                         **kwargs).start()
        served.append(vcard)
        if wait:
            wait_for_card(slot)
        return vcard

    yield serve
    for vcard in served:
        vcard.stop()
        wait_for_no_card(vcard.port - pcscd_service.port)


@dataclass
class HilTarget:
    """The card under test and what is known about it."""

    transport: Any
    reader: str
    served: bool
    profile_path: Path | None  # the profile the card should match, if any
    pin1: bytes | None
    card: Any = None  # the simulated csim.Card when served
    keys: dict[str, bytes] = field(default_factory=dict)  # ki/opc of the active profile when known


def _profile_secrets(path: Path) -> tuple[bytes | None, dict[str, bytes]]:
    """PIN1 (padded as stored) and the ki/opc of the IMSI profile the card starts with."""
    from csim.profile import load_profile

    card = load_profile(path)
    pin = card.pins.get("pin1")
    sub = card.active_profile
    keys = {"ki": sub.ki, "opc": sub.opc} if sub.ki and sub.opc else {}
    return (pin.value if pin is not None else None), keys


@pytest.fixture(scope="session")
def hil_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HilTarget]:
    """The card under test: the one in ``--reader``, or a simulated card served through vpcd."""
    from harness.readers.pcsc import PcscTransport, pin_bytes

    config = request.config
    trace = config.getoption("--hil-trace") or str(tmp_path_factory.getbasetemp() / "hil-trace.jsonl")
    allow_write = bool(config.getoption("--allow-write"))
    expect = config.getoption("--expect-profile")
    reader = config.getoption("--reader")
    served = None
    card = None
    if reader is None:
        service = request.getfixturevalue("pcscd_service")
        from csim import Card
        from harness.readers.vpcd import VpcdCard

        profile = Path(config.getoption("--hil-profile"))
        card = Card.from_profile(str(profile))
        served = VpcdCard(card, port=service.port, socket_factory=service.socket_factory).start()
        reader_name = wait_for_card(0)
        expect = expect or str(profile)
    else:
        reader_name = reader
    transport = PcscTransport(reader_name, trace=trace, allow_write=allow_write)
    pin1, keys = _profile_secrets(Path(expect)) if expect else (None, {})
    if reader is not None and os.environ.get(PIN1_ENV):
        pin1 = pin_bytes(os.environ[PIN1_ENV])
    target = HilTarget(transport, transport.name, served is not None, Path(expect) if expect else None,
                       pin1, card, keys)
    yield target
    transport.close()
    if served is not None:
        served.stop()


@pytest.fixture
def hil_link(hil_target: HilTarget) -> Any:
    """A freshly reset card with PIN1 verified when known, as a :class:`harness.terminal.link.UiccLink`."""
    from harness.terminal.errors import CardCommandError
    from harness.terminal.link import UiccLink, normal_ending

    hil_target.transport.reset()
    link = UiccLink(hil_target.transport)
    if hil_target.pin1 is not None:
        sw = link.verify_pin(hil_target.pin1)
        if not normal_ending(sw):
            raise CardCommandError("VERIFY PIN", sw)
    return link


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.getoption("--reader", None) is not None:
        writes = "writes allowed" if config.getoption("--allow-write") else "read-only"
        return f"simharness hil: reader {config.getoption('--reader')} ({writes})"
    return None

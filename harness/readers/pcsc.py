"""A card in a PC/SC reader (physical, or a simulated card served through vpcd).

:class:`PcscTransport` implements :class:`harness.terminal.transport.Transport` over pyscard's
low-level ``smartcard.scard`` API (PC/SC Part 5 ``SCard*`` calls): list readers,
connect by index or name with T=0 or T=1, T=0 procedure bytes (61xx, 6Cxx, 9Fxx)
handled through :func:`harness.terminal.transport.transmit_t0`, transparent reconnection after a
reset of the card (a REFRESH "UICC reset", TS 102 223 §6.4.7, or another application),
optional time limits, and :class:`~harness.terminal.transport.TransportError` with a message
saying what is wrong: no PC/SC service, no reader, no card, card removed.

Every exchange goes through a :class:`harness.readers.safety.SafetyPolicy` (read-only unless
``allow_write``) and, when a trace path is given, into a :class:`harness.readers.trace.Tracer`.
"""

from __future__ import annotations

import concurrent.futures
import os
import time
from collections.abc import Callable
from typing import Any

from csim import ef as efs
from csim.profile import load_profile
from harness.events import EventLog
from harness.readers.safety import SafetyPolicy
from harness.readers.trace import Tracer
from harness.terminal.errors import CardCommandError, TransportError
from harness.terminal.link import UiccLink
from harness.terminal.transport import transmit_t0

try:  # pyscard is the optional ``pcsc`` extra
    from smartcard import scard
except ImportError:  # pragma: no cover - exercised only without pyscard
    scard = None

PROTOCOLS = {"T0": 1, "T1": 2, "auto": 3}
PIN1_ENV = "SIMHARNESS_PIN1"  # PIN1 of a physical card, for reading PIN-protected files
_SCARD_ABSENT = 0x0002  # SCardStatus states (pcsclite.h)
_SCARD_PRESENT = 0x0004


def _require_scard() -> Any:
    if scard is None:
        raise TransportError(
            "pyscard is not installed: pip install 'simharness[pcsc]' (needs libpcsclite-dev)"
        )
    return scard


def _message(hresult: int) -> str:
    try:
        return f"{scard.SCardGetErrorMessage(hresult).strip().rstrip('.')} (0x{hresult & 0xFFFFFFFF:08X})"
    except Exception:
        return f"0x{hresult & 0xFFFFFFFF:08X}"


def _socket_hint() -> str:
    sock = os.environ.get("PCSCLITE_CSOCK_NAME")
    return f" (PCSCLITE_CSOCK_NAME={sock})" if sock else ""


def establish_context() -> int:
    """A PC/SC context; :class:`TransportError` when ``pcscd`` is not running."""
    sc = _require_scard()
    try:
        hresult, context = sc.SCardEstablishContext(sc.SCARD_SCOPE_USER)
    except Exception as exc:  # pyscard raises on some failures instead of returning them
        raise TransportError(f"PC/SC service unavailable{_socket_hint()}: {exc}") from exc
    if hresult != sc.SCARD_S_SUCCESS:
        raise TransportError(
            f"PC/SC service unavailable{_socket_hint()}: {_message(hresult)}; is pcscd running? (pcscd -f)"
        )
    return context


def _list(context: int) -> list[str]:
    sc = scard
    hresult, names = sc.SCardListReaders(context, [])
    if hresult in (sc.SCARD_E_NO_READERS_AVAILABLE, getattr(sc, "SCARD_E_NO_SERVICE", None)) and not names:
        return []
    if hresult != sc.SCARD_S_SUCCESS:
        raise TransportError(f"cannot list PC/SC readers: {_message(hresult)}")
    return list(names)


def list_readers() -> list[str]:
    """Names of the PC/SC readers, in the order ``--reader N`` indexes them."""
    sc = _require_scard()
    context = establish_context()
    try:
        return _list(context)
    finally:
        sc.SCardReleaseContext(context)


def reader_states(timeout: float = 0.0) -> list[tuple[str, bool, bytes]]:
    """``(reader, card present, ATR)`` for every reader (PC/SC ``SCardGetStatusChange``)."""
    sc = _require_scard()
    context = establish_context()
    try:
        names = _list(context)
        if not names:
            return []
        states = [(name, sc.SCARD_STATE_UNAWARE) for name in names]
        hresult, new = sc.SCardGetStatusChange(context, int(timeout * 1000), states)
        if hresult not in (sc.SCARD_S_SUCCESS, sc.SCARD_E_TIMEOUT):
            raise TransportError(f"cannot read reader states: {_message(hresult)}")
        return [(name, bool(state & sc.SCARD_STATE_PRESENT), bytes(atr)) for name, state, atr in new]
    finally:
        sc.SCardReleaseContext(context)


def resolve_reader(reader: int | str | None, names: list[str]) -> str:
    """Pick a reader by index (``0``, ``"1"``), exact name, or unique name fragment."""
    if not names:
        raise TransportError(
            f"no PC/SC reader found{_socket_hint()}: plug a reader or run `simharness card serve`"
        )
    if reader is None:
        return names[0]
    if isinstance(reader, int) or (isinstance(reader, str) and reader.isdigit()):
        index = int(reader)
        if not 0 <= index < len(names):
            raise TransportError(f"no reader #{index}: {len(names)} reader(s): {_enumerate(names)}")
        return names[index]
    if reader in names:
        return reader
    matches = [n for n in names if reader.lower() in n.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise TransportError(f"no reader matches {reader!r}; readers: {_enumerate(names)}")
    raise TransportError(f"{reader!r} matches several readers: {', '.join(matches)}")


def _enumerate(names: list[str]) -> str:
    return ", ".join(f"{i}: {n}" for i, n in enumerate(names))


def wait_for_card(reader: str | int, timeout: float = 5.0) -> str:
    """Wait until ``reader`` shows a card; returns the reader name."""
    deadline = time.monotonic() + timeout
    while True:
        states = reader_states()
        name = resolve_reader(reader, [s[0] for s in states])
        if any(s[0] == name and s[1] for s in states):
            return name
        if time.monotonic() > deadline:
            raise TransportError(f"no card appeared in {name!r} within {timeout:g} s")
        time.sleep(0.05)


def wait_for_no_card(reader: str | int, timeout: float = 5.0) -> None:
    """Wait until pcscd has noticed that the card left ``reader`` (it polls every ~0.4 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = reader_states()
        name = resolve_reader(reader, [s[0] for s in states])
        if not any(s[0] == name and s[1] for s in states):
            return
        time.sleep(0.05)


class PcscTransport:
    """The card in a PC/SC reader, as a :class:`~harness.terminal.transport.Transport`.

    ``reader``: index or (part of a) name, default the first reader.  ``protocol``:
    ``"T0"``, ``"T1"`` or ``"auto"``.  ``connect_timeout``: how long to wait for a card
    to appear (pcscd needs up to ~1 s after start).  ``timeout``: limit for one
    exchange, ``None`` for none.  ``allow_write``: see :class:`SafetyPolicy`.
    """

    def __init__(
        self,
        reader: int | str | None = None,
        protocol: str = "auto",
        log: EventLog | None = None,
        trace: str | os.PathLike[str] | Tracer | None = None,
        allow_write: bool = False,
        connect_timeout: float = 3.0,
        timeout: float | None = None,
        policy: SafetyPolicy | None = None,
    ) -> None:
        self._sc = _require_scard()
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}")
        self.protocols = PROTOCOLS[protocol]
        self.log = log
        self.timeout = timeout
        self.policy = policy if policy is not None else SafetyPolicy(allow_write=allow_write)
        self.tracer: Tracer | None = trace if isinstance(trace, Tracer) else None
        self._owns_tracer = False
        self._card: int | None = None
        self._pci: Any = None
        self._atr = b""
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self.resets = 0
        self.protocol = ""
        self._context: int | None = None
        self._context = establish_context()
        try:
            self.name = resolve_reader(reader, _list(self._context))
            self._connect(connect_timeout)
            if trace is not None and not isinstance(trace, Tracer):
                self.tracer = Tracer(trace, reader=self.name, atr=self._atr)
                self._owns_tracer = True
        except BaseException:
            self.close()
            raise

    # -- connection -------------------------------------------------------------------

    def _connect(self, timeout: float) -> None:
        sc = self._sc
        deadline = time.monotonic() + timeout
        while True:
            hresult, card, active = sc.SCardConnect(
                self._context, self.name, sc.SCARD_SHARE_SHARED, self.protocols
            )
            if hresult == sc.SCARD_S_SUCCESS:
                break
            retry = hresult in (sc.SCARD_E_NO_SMARTCARD, sc.SCARD_W_REMOVED_CARD, sc.SCARD_W_UNPOWERED_CARD,
                                sc.SCARD_E_SHARING_VIOLATION, sc.SCARD_W_RESET_CARD)
            if not retry or time.monotonic() >= deadline:
                if hresult in (sc.SCARD_E_NO_SMARTCARD, sc.SCARD_W_REMOVED_CARD):
                    raise TransportError(f"no card in reader {self.name!r} (waited {timeout:g} s)")
                if hresult in (sc.SCARD_E_UNKNOWN_READER, sc.SCARD_E_READER_UNAVAILABLE):
                    raise TransportError(f"reader {self.name!r} is gone: {_message(hresult)}")
                if hresult == sc.SCARD_W_UNRESPONSIVE_CARD:
                    raise TransportError(f"the card in {self.name!r} does not answer to reset (mute card)")
                raise TransportError(f"cannot connect to the card in {self.name!r}: {_message(hresult)}")
            time.sleep(0.05)
        self._card = card
        self._set_protocol(active)
        self._read_atr()

    def _set_protocol(self, active: int) -> None:
        sc = self._sc
        self.protocol = "T1" if active == sc.SCARD_PROTOCOL_T1 else "T0"
        self._pci = sc.SCARD_PCI_T1 if active == sc.SCARD_PROTOCOL_T1 else sc.SCARD_PCI_T0

    def _read_atr(self) -> None:
        hresult, _reader, _state, _protocol, atr = self._sc.SCardStatus(self._card)
        if hresult != self._sc.SCARD_S_SUCCESS:
            raise self._error(hresult, "reading the card status")
        self._atr = bytes(atr)

    def _error(self, hresult: int, doing: str) -> TransportError:
        sc = self._sc
        if hresult == sc.SCARD_W_REMOVED_CARD or hresult == sc.SCARD_E_NO_SMARTCARD:
            return TransportError(f"card removed from reader {self.name!r} while {doing}")
        if hresult in (sc.SCARD_E_READER_UNAVAILABLE, sc.SCARD_E_UNKNOWN_READER):
            return TransportError(f"reader {self.name!r} disappeared while {doing}")
        if hresult in (sc.SCARD_E_NO_SERVICE, sc.SCARD_E_SERVICE_STOPPED, sc.SCARD_E_INVALID_HANDLE):
            return TransportError(f"the PC/SC service stopped while {doing}: {_message(hresult)}")
        if hresult == sc.SCARD_E_TIMEOUT:
            return TransportError(f"timeout while {doing} on {self.name!r}")
        return TransportError(f"{self.name!r}: {doing} failed: {_message(hresult)}")

    def _diagnose(self, hresult: int) -> int:
        # a failed exchange often reports only "transaction failed": ask for the card state
        sc = self._sc
        if hresult not in (sc.SCARD_E_NOT_TRANSACTED, sc.SCARD_F_COMM_ERROR, sc.SCARD_W_UNRESPONSIVE_CARD):
            return hresult
        deadline = time.monotonic() + 1.0  # pcscd notices a removal at its next poll (~0.4 s)
        while time.monotonic() < deadline:
            status, _reader, state, _protocol, _atr = sc.SCardStatus(self._card)
            if status != sc.SCARD_S_SUCCESS:
                return status
            if state & _SCARD_ABSENT or not state & _SCARD_PRESENT:
                return sc.SCARD_W_REMOVED_CARD
            time.sleep(0.05)
        return hresult

    def reconnect(self, reset: bool = False, timeout: float = 3.0) -> bytes:
        """Re-establish the link (after a reset or a re-inserted card); returns the ATR."""
        sc = self._sc
        if self._card is not None:
            disposition = sc.SCARD_RESET_CARD if reset else sc.SCARD_LEAVE_CARD
            hresult, active = sc.SCardReconnect(
                self._card, sc.SCARD_SHARE_SHARED, self.protocols, disposition
            )
            if hresult == sc.SCARD_S_SUCCESS:
                self._set_protocol(active)
                self._read_atr()
                return self._atr
            sc.SCardDisconnect(self._card, sc.SCARD_LEAVE_CARD)
            self._card = None
            if hresult not in (sc.SCARD_W_REMOVED_CARD, sc.SCARD_E_NO_SMARTCARD, sc.SCARD_E_INVALID_HANDLE):
                raise self._error(hresult, "reconnecting")
        self._connect(timeout)
        if reset:
            return self.reconnect(reset=True, timeout=timeout)
        return self._atr

    # -- Transport ----------------------------------------------------------------------

    @property
    def atr(self) -> bytes:
        return self._atr

    def raw(self, apdu: bytes) -> bytes:
        """One exchange as it goes on the wire (no 61xx/6Cxx handling), checked by the same
        :class:`SafetyPolicy` as :meth:`transmit`: nothing reaches the card unguarded."""
        apdu = bytes(apdu)
        self.policy.check(apdu, self._query)
        resp = self._exchange(apdu)
        self.policy.observe(apdu, resp)
        return resp

    def _exchange(self, apdu: bytes) -> bytes:
        """One unchecked exchange; only :meth:`raw`, :meth:`transmit` and the policy's probes use it."""
        if self._card is None:
            raise TransportError(f"not connected to {self.name!r}")
        sc = self._sc
        start = time.perf_counter()
        hresult, response = self._scard_transmit(apdu)
        if hresult == sc.SCARD_W_RESET_CARD:
            # the card was reset under us (REFRESH with UICC reset, another application):
            # PC/SC requires acknowledging it with SCardReconnect before the next exchange
            self.reconnect(reset=False)
            self.resets += 1
            if self.log is not None:
                self.log.record("reset", atr=self._atr, reason="card reset by another party")
            if self.tracer is not None:
                self.tracer.reset(self._atr, reason="reset detected")
            hresult, response = self._scard_transmit(apdu)
        if hresult != sc.SCARD_S_SUCCESS:
            raise self._error(self._diagnose(hresult), f"sending {apdu[:4].hex().upper()}")
        resp = bytes(response)
        if self.tracer is not None:
            self.tracer.exchange(apdu, resp, time.perf_counter() - start)
        return resp

    def _scard_transmit(self, apdu: bytes) -> tuple[int, list[int]]:
        call: Callable[[], tuple[int, list[int]]] = lambda: self._sc.SCardTransmit(  # noqa: E731
            self._card, self._pci, list(apdu)
        )
        if self.timeout is None:
            return call()
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pcsc")
        future = self._executor.submit(call)
        try:
            return future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            raise TransportError(
                f"the card in {self.name!r} did not answer {apdu[:4].hex().upper()} within {self.timeout:g} s"
            ) from None

    def transmit(self, apdu: bytes) -> bytes:
        apdu = bytes(apdu)
        self.policy.check(apdu, self._query)
        resp = transmit_t0(self._exchange, apdu)
        self.policy.observe(apdu, resp)
        if self.log is not None:
            self.log.record("apdu", command=apdu, response=resp)
        return resp

    def _query(self, apdu: bytes) -> bytes:
        """A probe of the policy (an empty VERIFY, STATUS): presents nothing, changes nothing."""
        return transmit_t0(self._exchange, apdu)

    def reset(self) -> bytes:
        """Warm reset of the card (``SCardReconnect`` with ``SCARD_RESET_CARD``); returns the ATR."""
        atr = self.reconnect(reset=True)
        self.resets += 1
        if self.log is not None:
            self.log.record("reset", atr=atr)
        if self.tracer is not None:
            self.tracer.reset(atr)
        return atr

    def close(self) -> None:
        sc = self._sc
        if self._card is not None:
            sc.SCardDisconnect(self._card, sc.SCARD_LEAVE_CARD)
            self._card = None
        if getattr(self, "_context", None) is not None:
            sc.SCardReleaseContext(self._context)
            self._context = None
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
        if self.tracer is not None and self._owns_tracer:
            self.tracer.close()

    def __enter__(self) -> PcscTransport:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ---------------------------------------------------------------------------------------
# Reading a UICC through the link (harness.terminal.link.UiccLink: select by path, READ BINARY /
# RECORD), decoded with csim's EF decoders


def read_ef(link: UiccLink, key: str) -> Any:
    """Read and decode the csim EF ``key`` (``"ADF_USIM/EF_IMSI"``) through ``link``."""
    spec = efs.get(key)
    if spec.structure == "transparent":
        return efs.decode(spec, link.read_binary(spec.path))
    return efs.decode(spec, link.read_records(spec.path))


def pin_bytes(value: str) -> bytes:
    """A PIN as stored on a UICC: ASCII digits padded with FF to 8 bytes (TS 102 221 §9.5.2)."""
    if not value.isdigit() or not 4 <= len(value) <= 8:
        raise ValueError("a PIN is 4 to 8 digits")
    return value.encode("ascii").ljust(8, b"\xff")


# What `reader read` and the personalisation check look at: name -> EF key
SUBSCRIBER_EFS: dict[str, str] = {
    "iccid": "MF/EF_ICCID",
    "imsi": "ADF_USIM/EF_IMSI",
    "ad": "ADF_USIM/EF_AD",
    "spn": "ADF_USIM/EF_SPN",
    "msisdn": "ADF_USIM/EF_MSISDN",
    "ust": "ADF_USIM/EF_UST",
    "ehplmn": "ADF_USIM/EF_EHPLMN",
    "hplmnwact": "ADF_USIM/EF_HPLMNwAcT",
    "oplmnwact": "ADF_USIM/EF_OPLMNwAcT",
    "plmnwact": "ADF_USIM/EF_PLMNwAcT",
    "fplmn": "ADF_USIM/EF_FPLMN",
    "acc": "ADF_USIM/EF_ACC",
    "loci": "ADF_USIM/EF_LOCI",
}


def read_subscriber(link: UiccLink, names: list[str] | None = None) -> dict[str, Any]:
    """Read and decode the subscriber EFs; a file the card refuses reads as ``{"error": ...}``."""
    out: dict[str, Any] = {}
    for name in names or list(SUBSCRIBER_EFS):
        try:
            out[name] = read_ef(link, SUBSCRIBER_EFS[name])
        except CardCommandError as exc:
            out[name] = {"error": str(exc), "sw": exc.sw}
    return out


def expected_from_profile(path: str | os.PathLike[str], profile: str | None = None) -> dict[str, Any]:
    """Values a card personalised from the profile file must show (the active IMSI profile:
    ``profile``, else the one the card starts with: the applet's priority profile, else the first)."""
    card = load_profile(os.fspath(path))
    name = profile or card.active
    out: dict[str, Any] = {"iccid": card.iccid}
    if card.msisdn:
        out["msisdn"] = card.msisdn
    if card.ust:
        out["ust"] = sorted(card.ust)
    sub = card.imsi_profiles.get(name)
    if sub is not None:
        out["imsi"] = sub.imsi
        out["mnc_length"] = sub.mnc_length
        out["spn"] = sub.spn.name
        for key in ("ehplmn", "fplmn"):
            if getattr(sub, key):
                out[key] = list(getattr(sub, key))
        for key in ("hplmnwact", "oplmnwact", "plmnwact"):
            if getattr(sub, key):
                out[key] = [e.plmn for e in getattr(sub, key)]
        if sub.acc:
            out["acc"] = sorted(sub.acc)
    out["profile"] = name
    return out


def compare_with_profile(values: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Differences between what the card shows and the expected profile (empty: conforms)."""
    shown: dict[str, Any] = {
        "iccid": values.get("iccid"),
        "imsi": values.get("imsi"),
        "mnc_length": (values.get("ad") or {}).get("mnc_length"),
        "spn": (values.get("spn") or {}).get("name"),
        "msisdn": next((r["number"] for r in values.get("msisdn") or [] if isinstance(r, dict)), None),
        "ust": sorted(values.get("ust") or []),
        "ehplmn": values.get("ehplmn"),
        "fplmn": values.get("fplmn"),
        "acc": sorted(values.get("acc") or []),
    }
    for key in ("hplmnwact", "oplmnwact", "plmnwact"):
        entries = values.get(key)
        shown[key] = [e["plmn"] for e in entries] if isinstance(entries, list) else entries
    problems = []
    for key, want in expected.items():
        if key == "profile":
            continue
        if shown.get(key) != want:
            problems.append(f"{key}: card has {shown.get(key)!r}, profile expects {want!r}")
    return problems

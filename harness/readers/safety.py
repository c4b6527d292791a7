"""Safety with real cards: read-only by default, PIN counters protected, ADM keys kept out of sight.

- Commands that change a card (UPDATE/WRITE/ERASE BINARY or RECORD, INCREASE, CREATE/
  DELETE/RESIZE/ACTIVATE/DEACTIVATE/TERMINATE, CHANGE/DISABLE/ENABLE/UNBLOCK PIN,
  TS 102 221 §11.1) are refused unless ``allow_write`` is set.
- A command presenting a PIN (VERIFY, CHANGE, DISABLE, ENABLE) first asks the card how
  many attempts remain with an empty VERIFY (TS 102 221 §11.1.9: ``63Cx``) and refuses to
  run when fewer than 2 remain, so a wrong value never leaves the key blocked; UNBLOCK PIN
  does the same with an empty UNBLOCK (§11.1.13).  The refusal says how to recover: present
  the right PIN by hand (a phone, pySim ``verify_chv``), which resets the counter, or allow
  one presentation with a single attempt left (``--pin-attempts-ok``, ``min_attempts=1``).
  GSM cards (CLA A0, TS 51.011) report their counters in STATUS
  (§9.2.1: bytes 19-22 of the DF response).
- ADM keys come from an environment variable or a file (:func:`load_adm_key`), never from
  the command line, and their value never appears in a repr, a log or a trace.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from csim.yamlsrc import DataError, read_bytes
from harness.readers.trace import KEY_REFERENCES, command_name
from harness.terminal.link import normal_ending
from harness.terminal.transport import TransportError

# INS of commands that modify the card (TS 102 221 §10.1.2, ISO 7816-4, TS 51.011 §9.2)
WRITE_INS = frozenset({
    0xD6, 0xD7,  # UPDATE BINARY
    0xDC, 0xDD,  # UPDATE RECORD
    0xD0, 0xD1,  # WRITE BINARY
    0xD2, 0xD3,  # WRITE RECORD
    0xE2,  # APPEND RECORD
    0x0E, 0x0F,  # ERASE BINARY
    0x32,  # INCREASE
    0xDB,  # SET DATA
    0x24,  # CHANGE PIN
    0x26,  # DISABLE PIN
    0x28,  # ENABLE PIN
    0x2C,  # UNBLOCK PIN
    0x04,  # DEACTIVATE FILE / INVALIDATE
    0x44,  # ACTIVATE FILE / REHABILITATE
    0xE0,  # CREATE FILE
    0xE4,  # DELETE FILE
    0xD4,  # RESIZE FILE
    0xE6, 0xE8, 0xFE,  # TERMINATE DF / EF / CARD USAGE
})

PIN_INS = frozenset({0x20, 0x24, 0x26, 0x28})  # commands presenting a PIN
UNBLOCK_INS = 0x2C
MIN_ATTEMPTS = 2
PIN_ATTEMPTS_OK = 1  # --pin-attempts-ok: the user vouches for the value; a blocked key stays refused


def required_attempts(pin_attempts_ok: bool) -> int:
    """Attempts that must remain before a PIN is presented: 2, or 1 with ``--pin-attempts-ok``."""
    return PIN_ATTEMPTS_OK if pin_attempts_ok else MIN_ATTEMPTS

ADM_ENV = "SIMHARNESS_ADM1"
ADM_FILE_ENV = "SIMHARNESS_ADM1_FILE"


class SafetyError(TransportError):
    """A command refused before reaching the card."""


class WriteRefused(SafetyError):
    """A command that would modify the card, without ``allow_write``."""


class PinGuard(SafetyError):
    """A PIN presentation refused: too few attempts left, or the counter cannot be read."""


Query = Callable[[bytes], bytes]


class SafetyPolicy:
    """Checks every command before it is sent to a real card."""

    def __init__(self, allow_write: bool = False, min_attempts: int = MIN_ATTEMPTS) -> None:
        if min_attempts < PIN_ATTEMPTS_OK:
            raise ValueError(f"min_attempts must be at least {PIN_ATTEMPTS_OK}: a blocked key is never "
                             "presented")
        self.allow_write = allow_write
        self.min_attempts = min_attempts

    def check(self, apdu: bytes, query: Query) -> None:
        """Raise :class:`SafetyError` if ``apdu`` must not be sent; ``query`` sends probes."""
        if len(apdu) < 4:
            return
        ins = apdu[1]
        if ins in WRITE_INS and not self.allow_write:
            raise WriteRefused(
                f"{command_name(apdu)} refused: the card is read-only unless writes are allowed "
                f"(--allow-write, or allow_write=True); command header {apdu[:4].hex().upper()}"
            )
        if len(apdu) > 5 and (ins in PIN_INS or ins == UNBLOCK_INS):
            left = self.attempts_left(apdu, query)
            if left is not None and left < self.min_attempts:
                raise PinGuard(_refusal(apdu, left, self.min_attempts))

    def observe(self, apdu: bytes, response: bytes) -> None:
        """See each command's response (a policy that follows the card's state uses it)."""

    def attempts_left(self, apdu: bytes, query: Query) -> int | None:
        """Remaining attempts for the key the command presents; ``None`` if already verified.

        Raises :class:`PinGuard` when the card does not say.
        """
        cla, ins, p2 = apdu[0], apdu[1], apdu[3]
        key = KEY_REFERENCES.get(p2, f"key {p2:02X}")
        if cla == 0xA0:
            return _gsm_attempts(ins, p2, query, key)
        probe_ins = UNBLOCK_INS if ins == UNBLOCK_INS else 0x20
        resp = query(bytes([cla, probe_ins, 0x00, p2]))
        sw = int.from_bytes(resp[-2:], "big") if len(resp) >= 2 else 0
        if sw & 0xFFF0 == 0x63C0:
            return sw & 0x0F
        if sw == 0x9000:
            return None  # already verified, or the PIN is disabled: nothing to protect
        if sw in (0x6983, 0x6984):
            return 0
        raise PinGuard(
            f"{command_name(apdu)} refused: the card did not report the attempts left for {key} "
            f"(SW {sw:04X} to an empty {'UNBLOCK PIN' if probe_ins == UNBLOCK_INS else 'VERIFY'})"
        )


# Files a terminal updates in normal use (TS 31.102 §5.2: the ME updates them on location
# update, on registration reject, after authentication and at switch-off). FIDs as in ADF.USIM
# and DF.GSM; 4Fxx files of DF.5GS and DF.GSM-ACCESS.
TERMINAL_FILES: dict[int, str] = {
    0x6F7E: "EF_LOCI",        # TS 31.102 §4.2.17
    0x6F73: "EF_PSLOCI",      # §4.2.23
    0x6FE3: "EF_EPSLOCI",     # §4.2.91
    0x6F7B: "EF_FPLMN",       # §4.2.16
    0x6F08: "EF_KEYS",        # §4.2.9
    0x6F09: "EF_KEYSPS",      # §4.2.10
    0x6FE4: "EF_EPSNSC",      # §4.2.92
    0x6F5B: "EF_START-HFN",   # §4.2.51
    0x6FC4: "EF_NETPAR",      # §4.2.80
    0x6F53: "EF_LOCIGPRS",    # TS 51.011 §10.3.33
    0x4F20: "EF_Kc",          # TS 31.102 §4.4.3.1
    0x4F52: "EF_KcGPRS",      # §4.4.3.2
    0x4F01: "EF_5GS3GPPLOCI",   # §4.4.11.2
    0x4F02: "EF_5GSN3GPPLOCI",  # §4.4.11.3
    0x4F03: "EF_5GS3GPPNSC",    # §4.4.11.4
    0x4F04: "EF_5GSN3GPPNSC",   # §4.4.11.5
    0x4F05: "EF_5GAUTHKEYS",    # §4.4.11.6
}

# Personalisation: who the card is and what it may do (identity, keys' files, access classes,
# service tables, home network lists). Never written by a scenario on a card in a reader.
PERSONALISATION_FILES: dict[int, str] = {
    0x2FE2: "EF_ICCID", 0x2F00: "EF_DIR", 0x2F06: "EF_ARR", 0x6F07: "EF_IMSI", 0x6F78: "EF_ACC",
    0x6F38: "EF_UST/EF_SST", 0x6F56: "EF_EST", 0x6FAD: "EF_AD", 0x6FD9: "EF_EHPLMN",
    0x6F62: "EF_HPLMNwAcT", 0x6F61: "EF_OPLMNwAcT", 0x6F31: "EF_HPPLMN", 0x6F46: "EF_SPN",
    0x6F40: "EF_MSISDN", 0x6F3E: "EF_GID1", 0x6F3F: "EF_GID2", 0x6F06: "EF_ARR",
}

UPDATE_INS = frozenset({0xD6, 0xD7, 0xDC, 0xDD})  # UPDATE BINARY / RECORD (TS 102 221 §11.1.4, §11.1.6)


class ScenarioWritePolicy(SafetyPolicy):
    """What a scenario may do to a card in a reader.

    UPDATE BINARY / UPDATE RECORD of the files a terminal writes in normal use
    (:data:`TERMINAL_FILES`) need ``allow_terminal_writes``; the personalisation files are
    never written, and neither is any other file nor any other command that changes a card
    (:data:`WRITE_INS`). The file written is the one the last successful SELECT chose
    (TS 102 221 §8.4); a write addressed by SFI is refused (select the file first). PIN
    presentations keep the attempts guard of :class:`SafetyPolicy`.
    """

    def __init__(self, allow_terminal_writes: bool = False, min_attempts: int = MIN_ATTEMPTS) -> None:
        super().__init__(allow_write=False, min_attempts=min_attempts)
        self.allow_terminal_writes = allow_terminal_writes
        self.current: int | None = None  # FID of the EF the last successful SELECT chose

    def check(self, apdu: bytes, query: Query) -> None:
        if len(apdu) >= 4 and apdu[1] in UPDATE_INS:
            self._check_update(apdu)
            return
        super().check(apdu, query)

    def _check_update(self, apdu: bytes) -> None:
        ins, p1, p2 = apdu[1], apdu[2], apdu[3]
        by_sfi = (p1 & 0x80) if ins in (0xD6, 0xD7) else (p2 >> 3)
        if by_sfi:
            raise WriteRefused(f"{command_name(apdu)} addressed by SFI refused on a card in a reader: "
                               "the harness checks the file a SELECT chose")
        fid = self.current
        where = f"{command_name(apdu)} of {_file_name(fid)}"
        if fid in PERSONALISATION_FILES or fid is None:
            raise WriteRefused(f"{where} refused: a scenario never writes the personalisation of a card "
                               "in a reader; nothing was written")
        if fid not in TERMINAL_FILES:
            raise WriteRefused(f"{where} refused: a terminal does not write this file in normal use; "
                               "nothing was written")
        if not self.allow_terminal_writes:
            raise WriteRefused(f"{where} refused: the terminal's writes reach a card in a reader only with "
                               "--allow-terminal-writes; nothing was written")

    def observe(self, apdu: bytes, response: bytes) -> None:
        """Follow the selection: a SELECT that ended normally chose a new current file."""
        if len(apdu) < 4 or apdu[1] != 0xA4 or len(response) < 2:
            return
        if not normal_ending(int.from_bytes(response[-2:], "big")):
            return
        p1 = apdu[2]
        data = apdu[5:5 + apdu[4]] if len(apdu) > 5 else b""
        if p1 in (0x00, 0x08, 0x09) and len(data) >= 2:  # by FID, or by path: its last FID
            fid = int.from_bytes(data[-2:], "big")
            self.current = None if fid >> 8 in (0x3F, 0x7F, 0x5F) else fid  # an MF or DF: no EF
        else:
            self.current = None  # an application, a parent, a DF name: no current EF


def _refusal(apdu: bytes, left: int, required: int) -> str:
    """Why a PIN/PUK presentation was refused, and how to get the card usable again."""
    what = "PUK" if apdu[1] == UNBLOCK_INS else "PIN"
    head = (f"{command_name(apdu)} refused: only {left} {what} attempt(s) left on the card "
            f"(at least {required} required so a wrong value cannot block it); nothing was sent")
    if left == 0:
        return (f"{head}. The {what} is blocked: unblock it with the PUK in a phone or a card tool "
                "(the harness never presents a PUK with its last attempt)")
    return (f"{head}. To recover: present the right {what} by hand (a phone, or pySim's verify_chv), "
            f"which resets the counter, or rerun with --pin-attempts-ok if you are sure of the value "
            f"(a wrong one then blocks the {what})")


def _file_name(fid: int | None) -> str:
    if fid is None:
        return "no selected EF"
    name = TERMINAL_FILES.get(fid) or PERSONALISATION_FILES.get(fid)
    return f"{name} ({fid:04X})" if name else f"EF {fid:04X}"


def _gsm_attempts(ins: int, p2: int, query: Query, key: str) -> int:
    # STATUS returns the current DF's response without changing the selection; bytes 19-22:
    # CHV1, UNBLOCK CHV1, CHV2, UNBLOCK CHV2 status (b8 = initialised, b4..b1 = attempts left)
    resp = query(bytes([0xA0, 0xF2, 0x00, 0x00, 0x16]))
    data = resp[:-2]
    index = {1: 18, 2: 20}.get(p2)
    ok = len(resp) >= 2 and normal_ending(int.from_bytes(resp[-2:], "big"))
    if index is None or len(data) < 22 or not ok:
        raise PinGuard(f"refused: cannot read the attempts left for {key} from the GSM STATUS response")
    if ins == UNBLOCK_INS:
        index += 1
    return data[index] & 0x0F


class AdmKey:
    """An ADM key value that never shows itself in repr/str (TS 102 221 §9.5.1: 8 bytes)."""

    __slots__ = ("_value", "source")

    def __init__(self, value: bytes, source: str) -> None:
        if len(value) != 8:
            raise ValueError("an ADM key is 8 bytes")
        self._value = bytes(value)
        self.source = source

    @property
    def value(self) -> bytes:
        return self._value

    def verify_apdu(self, reference: int = 0x0A, cla: int = 0x00) -> bytes:
        """VERIFY ``reference`` (ADM1 = 0A) with this key."""
        return bytes([cla, 0x20, 0x00, reference, 0x08]) + self._value

    def __repr__(self) -> str:
        return f"AdmKey(******** from {self.source})"

    __str__ = __repr__


def parse_adm(text: str) -> bytes:
    """``"12345678"`` (up to 8 digits, ASCII, FF padded) or 16 hex digits (raw bytes)."""
    text = text.strip()
    if len(text) == 16 and all(c in "0123456789abcdefABCDEF" for c in text):
        return bytes.fromhex(text)
    if 0 < len(text) <= 8 and text.isdigit():
        return text.encode("ascii").ljust(8, b"\xff")
    raise ValueError("an ADM key is up to 8 decimal digits or exactly 16 hex digits")


def load_adm_key(
    file: str | os.PathLike[str] | None = None,
    env: str = ADM_ENV,
    file_env: str = ADM_FILE_ENV,
) -> AdmKey | None:
    """The ADM key from ``file``, else the ``env`` variable, else the file named by ``file_env``.

    Returns ``None`` when none is configured.  The value itself is never accepted as a
    command-line argument: command lines are visible to every user (``ps``) and in logs.
    """
    if file is None and os.environ.get(env):
        try:
            return AdmKey(parse_adm(os.environ[env]), f"${env}")
        except ValueError as exc:
            raise ValueError(f"${env}: {exc}") from None
    if file is None:
        file = os.environ.get(file_env) or None
    if file is None:
        return None
    path = Path(file)
    try:  # a regular file of a few bytes: /dev/zero or a FIFO never hangs the run
        text = read_bytes(path, 4096).decode("ascii")
    except DataError as exc:
        raise ValueError(f"cannot read the ADM key file {path}: {exc.message}") from None
    except UnicodeDecodeError:
        raise ValueError(f"cannot read the ADM key file {path}: not ASCII text") from None
    try:
        return AdmKey(parse_adm(text), str(path))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None

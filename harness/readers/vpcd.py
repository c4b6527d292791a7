"""Serve simulated cards to the system's ``pcscd`` through the vsmartcard ``vpcd`` driver.

The vpcd driver (Debian ``vsmartcard-vpcd``) listens on TCP port 35963 + slot; the card
is the TCP client.  Every message, both ways, is a 2-byte big-endian length followed by
its payload.  A 1-byte payload is a control code: 0 power off, 1 power on, 2 reset (no
reply) and 4 get ATR (reply: the ATR).  A longer payload is a command APDU, answered by
the response APDU.  Closing the socket removes the card from the reader.

vpcd writes the length and the payload of each message in two sends, so a client that
lets the kernel delay its ACKs stalls ~40 ms per APDU; :class:`VpcdCard` re-arms
``TCP_QUICKACK`` after every ``recv`` and answers with a single ``sendall``.

With a state path, the card is saved (``Card.save``: temp file, fsync, rename) after every
command that may change what it keeps, before the answer leaves: a card killed at any moment
comes back as it last answered. Reader connections, disconnections, power on/off and resets
are logged (logger ``harness.readers.vpcd``).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

VPCD_PORT = 35963
CTRL_OFF = 0
CTRL_ON = 1
CTRL_RESET = 2
CTRL_ATR = 4

_LEN = struct.Struct(">H")

log = logging.getLogger(__name__)

# Commands that change nothing a saved card keeps (files, PIN counters, SQN, applet state):
# SELECT (TS 102 221 §11.1.1), STATUS (§11.1.2), READ BINARY (§11.1.3), READ RECORD (§11.1.5),
# SEARCH RECORD (§11.1.7), GET RESPONSE (§12.1.1). Any other command is followed by a save.
READ_INS = frozenset({0xA4, 0xF2, 0xB0, 0xB1, 0xB2, 0xB3, 0xA2, 0xC0})


class ServableCard(Protocol):
    """What vpcd needs from a card: the csim :class:`~csim.Card` interface subset."""

    @property
    def atr(self) -> bytes: ...

    def reset(self) -> bytes: ...

    def transmit(self, apdu: bytes) -> bytes: ...


class VpcdCard:
    """One card in one vpcd slot: a TCP client of ``host:port`` answering pcscd.

    ``connect_socket`` lets the caller create the socket (e.g. inside another network
    namespace); by default a plain TCP socket is used.  Once started, the card stays
    in the reader until :meth:`stop`, reconnecting when pcscd (and so vpcd) restarts.
    """

    def __init__(
        self,
        card: ServableCard,
        port: int = VPCD_PORT,
        host: str = "127.0.0.1",
        state_path: str | os.PathLike[str] | None = None,
        retry_interval: float = 0.1,
        socket_factory: Callable[[], socket.socket] | None = None,
    ) -> None:
        self.card = card
        self.host = host
        self.port = port
        self.state_path = Path(state_path) if state_path is not None else None
        self.retry_interval = retry_interval
        self.socket_factory = socket_factory or (lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        self.powered = False
        self.apdus = 0
        self.connections = 0
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> VpcdCard:
        """Serve in a background thread (returns immediately)."""
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(target=self.serve_forever, name=f"vpcd:{self.port}", daemon=True)
        self._thread.start()
        return self

    def wait_connected(self, timeout: float = 5.0) -> bool:
        """Wait until the card is attached to vpcd (the reader shows a card soon after)."""
        return self._connected.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def stop(self, timeout: float = 2.0) -> None:
        """Remove the card from the reader and save its state (if a state path was given)."""
        self._stop.set()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None
        self.save()

    def replace(self, card: ServableCard) -> None:
        """Another card in this slot, as if swapped between two commands: it is reset when
        pcscd next powers or resets it (a reader's card change, ISO/IEC 7816-3 §6.2)."""
        with self._lock:
            self.card = card
            self.powered = False

    def save(self) -> None:
        """Save the card (``card.save(path)``) when a state path is configured."""
        with self._lock:
            self._save()

    def _save(self) -> None:  # the caller holds the lock
        save = getattr(self.card, "save", None)
        if self.state_path is None or save is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        save(str(self.state_path))

    def __enter__(self) -> VpcdCard:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- protocol -----------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Connect to vpcd and answer it; on disconnect, reconnect until :meth:`stop`."""
        while not self._stop.is_set():
            try:
                sock = self._open()
            except OSError:
                self._stop.wait(self.retry_interval)
                continue
            self._sock = sock
            self.connections += 1
            self._connected.set()
            log.info("card on vpcd port %d: reader connected (card inserted)", self.port)
            try:
                self._serve(sock)
            except OSError:
                pass
            except Exception as exc:  # the card itself failed: keep the reason, drop the card
                self.error = exc
                self._stop.set()
            finally:
                log.info("card on vpcd port %d: reader disconnected (card removed)", self.port)
                self._connected.clear()
                self._sock = None
                self.powered = False
                with contextlib.suppress(OSError):
                    sock.close()
            if not self._stop.is_set():
                self._stop.wait(self.retry_interval)

    def _open(self) -> socket.socket:
        sock = self.socket_factory()
        try:
            sock.settimeout(2.0)
            sock.connect((self.host, self.port))
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        except OSError:
            sock.close()
            raise
        return sock

    def _serve(self, sock: socket.socket) -> None:
        recv_into = sock.recv_into
        setsockopt = sock.setsockopt
        sendall = sock.sendall
        quickack = (socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        buf = bytearray(65538)
        view = memoryview(buf)
        have = 0
        while True:
            # read at least one whole message: 2-byte length + payload
            while have < 2 or have < 2 + (buf[0] << 8 | buf[1]):
                n = recv_into(view[have:])
                if n == 0:
                    return
                setsockopt(*quickack)
                have += n
            size = buf[0] << 8 | buf[1]
            payload = bytes(view[2 : 2 + size])
            rest = have - 2 - size
            if rest:
                view[:rest] = view[2 + size : have]
            have = rest
            reply = self.handle(payload)
            if reply is not None:
                sendall(_LEN.pack(len(reply)) + reply)

    def handle(self, payload: bytes) -> bytes | None:
        """Answer one vpcd message: a control code or a command APDU."""
        with self._lock:
            if len(payload) == 1:
                code = payload[0]
                if code == CTRL_ATR:
                    return bytes(self.card.atr)
                if code == CTRL_ON:
                    if not self.powered:
                        self.card.reset()
                        log.info("card on vpcd port %d: powered on", self.port)
                    self.powered = True
                elif code == CTRL_RESET:
                    self.card.reset()
                    self.powered = True
                    log.info("card on vpcd port %d: reset", self.port)
                elif code == CTRL_OFF:
                    self.powered = False
                    log.info("card on vpcd port %d: powered off", self.port)
                return None
            self.apdus += 1
            response = bytes(self.card.transmit(payload))
            if len(payload) > 1 and payload[1] not in READ_INS:
                self._save()  # before the answer: what the terminal saw answered is what was kept
            return response


class VpcdServer:
    """Several cards on several vpcd slots at once (slot i on ``base_port + i``)."""

    def __init__(
        self,
        cards: Iterable[ServableCard],
        base_port: int = VPCD_PORT,
        host: str = "127.0.0.1",
        state_paths: Iterable[str | os.PathLike[str] | None] | None = None,
        socket_factory: Callable[[], socket.socket] | None = None,
    ) -> None:
        cards = list(cards)
        paths = list(state_paths) if state_paths is not None else [None] * len(cards)
        if len(paths) != len(cards):
            raise ValueError("one state path per card")
        self.slots = [
            VpcdCard(card, port=base_port + i, host=host, state_path=path, socket_factory=socket_factory)
            for i, (card, path) in enumerate(zip(cards, paths, strict=True))
        ]

    def start(self) -> VpcdServer:
        for slot in self.slots:
            slot.start()
        return self

    def wait_connected(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        return all(slot.wait_connected(max(0.0, deadline - time.monotonic())) for slot in self.slots)

    def stop(self) -> None:
        for slot in self.slots:
            slot.stop()

    def __enter__(self) -> VpcdServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"


def missing_parts() -> str | None:
    """Why a private pcscd with the vpcd reader cannot run here (a missing part), or None."""
    try:
        import smartcard.scard  # noqa: F401
    except ImportError:
        return "pyscard is not installed (pip install 'simharness[pcsc]')"
    if shutil.which("pcscd") is None and not os.path.exists("/usr/sbin/pcscd"):
        return "pcscd is not installed (apt-get install -y pcscd vsmartcard-vpcd)"
    if not os.path.exists(VPCD_DRIVER):
        return "the vpcd driver is not installed (apt-get install -y vsmartcard-vpcd)"
    return None
CLONE_NEWNET = 0x40000000


def _setns(path: str, nstype: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, nstype) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


class PcscdService:
    """A private ``pcscd -f`` with only the vpcd reader, for tests and benchmarks.

    With ``isolate`` (the default when running as root with ``unshare``), pcscd runs in
    its own mount and network namespaces: ``/run/pcscd`` is a private directory and vpcd
    listens on the namespace's loopback only, so parallel test workers and a system
    pcscd never collide.  Clients reach it through ``PCSCLITE_CSOCK_NAME`` (read once
    per process by libpcsclite: call :meth:`activate` before any other PC/SC call), and
    :meth:`socket_factory` gives sockets inside the namespace for :class:`VpcdCard`.
    """

    def __init__(
        self, port: int = VPCD_PORT, isolate: bool | None = None, workdir: str | None = None
    ) -> None:
        if isolate is None:
            isolate = os.geteuid() == 0 and shutil.which("unshare") is not None
        self.isolate = isolate
        self.port = port
        self.workdir = workdir
        self.process: Any = None
        self.socket_path = ""
        self.log_path = ""
        self._tmp: Any = None

    def start(self, timeout: float = 5.0) -> PcscdService:
        pcscd = shutil.which("pcscd") or "/usr/sbin/pcscd"
        if not os.path.exists(pcscd):
            raise RuntimeError("pcscd is not installed: apt-get install -y pcscd vsmartcard-vpcd")
        if not os.path.exists(VPCD_DRIVER):
            raise RuntimeError("the vpcd reader driver is not installed: apt-get install -y vsmartcard-vpcd")
        self._tmp = tempfile.TemporaryDirectory(prefix="simharness-pcscd-", dir=self.workdir)
        base = Path(self._tmp.name)
        conf = base / "reader.conf.d"
        run = base / "run"
        conf.mkdir()
        run.mkdir()
        (conf / "vpcd").write_text(
            'FRIENDLYNAME "Virtual PCD"\n'
            f"DEVICENAME /dev/null:{self.port}\n"
            f"LIBPATH {VPCD_DRIVER}\n"
            f"CHANNELID {self.port}\n"
        )
        self.log_path = str(base / "pcscd.log")
        log = open(self.log_path, "wb")  # noqa: SIM115
        if self.isolate:
            script = (
                f"mkdir -p /run/pcscd && mount --bind {run} /run/pcscd && ip link set lo up "
                f"&& exec {pcscd} -f -c {conf}"
            )
            cmd = ["unshare", "--mount", "--net", "--propagation", "private", "sh", "-c", script]
            self.socket_path = str(run / "pcscd.comm")
        else:
            cmd = [pcscd, "-f", "-c", str(conf)]
            self.socket_path = "/run/pcscd/pcscd.comm"
        self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        log.close()
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket_path):
            if self.process.poll() is not None:
                raise RuntimeError(f"pcscd exited with status {self.process.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"pcscd did not create {self.socket_path} within {timeout:g} s")
            time.sleep(0.01)
        return self

    def log_tail(self, lines: int = 10) -> str:
        try:
            return " | ".join(Path(self.log_path).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @property
    def env(self) -> dict[str, str]:
        """Environment for a client process (``scriptor``, pySim...) to reach this pcscd."""
        return {"PCSCLITE_CSOCK_NAME": self.socket_path}

    def activate(self) -> None:
        """Point this process's PC/SC client library at this pcscd."""
        os.environ.update(self.env)

    def socket_factory(self) -> socket.socket:
        """A TCP socket in pcscd's network namespace (vpcd's listener lives there)."""
        if not self.isolate:
            return socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        result: dict[str, Any] = {}

        def make() -> None:  # setns() changes only the calling thread's namespace
            try:
                _setns(f"/proc/{self.process.pid}/ns/net", CLONE_NEWNET)
                result["sock"] = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            except OSError as exc:
                result["error"] = exc

        thread = threading.Thread(target=make, name="netns")
        thread.start()
        thread.join()
        if "error" in result:
            raise result["error"]
        return result["sock"]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except Exception:
                self.process.kill()
                self.process.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> PcscdService:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

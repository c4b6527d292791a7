"""The home operator's AAA server answering the packet core's Access-Requests (RFC 2865 §4) and
recording its Accounting-Requests (RFC 2866 §4).

Two back-ends answer the same :class:`~harness.network.packet_core.RadiusExchange`:

* ``in-process`` (the default): the users table looked up here, PAP compared and CHAP checked as
  RFC 1994 §4.1 — no socket, nothing to start;
* ``freeradius``: Debian's FreeRADIUS started on 127.0.0.1 with a generated configuration (one
  client and its secret, the users with their Cleartext-Password and Framed-IP-Address,
  ``reject_delay = 0``, no EAP, a Message-Authenticator required) and run as the ``freerad`` user
  when the harness runs as root; the packet core's :class:`~harness.network.radius.RadiusClient`
  sends it real packets and the verdict, address and Reply-Message are what it answers; its
  ``detail`` file keeps the accounting records, read back as what the AAA saw. The server
  replies carry a Message-Authenticator (set in post-auth), which the client requires
  (RFC 3579 §3.2, BlastRADIUS).

Both know the same users: :func:`aaa_users` builds them from the subscriber records (the
fixed-IP logins of the operator fixtures and of the scenario's ``subscriber:``). Each answers
:meth:`Aaa.seen`: the octets its accounting records of a session add up to, from which the
policy side meters usage.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from harness.network.packet_core import AccountingRecord, RadiusExchange, Subscriber

BACKENDS = ("in-process", "freeradius")
FREERADIUS_USER = "freerad"   # Debian's freeradius package's system user
START_TIMEOUT = 10.0


class AaaError(RuntimeError):
    """The AAA back-end could not be started or used; the message says why."""


def chap_response(ident: int, secret: str, challenge: bytes) -> bytes:
    """CHAP MD5 response: MD5(identifier || secret || challenge), RFC 1994 §4.1."""
    return hashlib.md5(bytes([ident]) + secret.encode() + challenge, usedforsecurity=False).digest()


def credentials_match(auth: str, known: str, password: str, chap_id: int, chap_challenge: bytes,
                      chap_value: bytes) -> bool:
    """Do the credentials sent match the ``known`` password? PAP compares the password (RFC 1334
    §2.2.1), CHAP the MD5 response (RFC 1994 §4.1); anything else matches nothing."""
    if auth == "pap":
        return password == known
    if auth == "chap":
        return chap_response(chap_id, known, chap_challenge) == chap_value
    return False


class AaaUser(NamedTuple):
    """One user of the AAA: name, cleartext password, and the fixed address it hands out."""

    name: str
    password: str
    framed_ip: str | None = None
    interim_interval: int | None = None   # Acct-Interim-Interval of its Access-Accept, RFC 2869 §5.16


def aaa_users(subscribers: Iterable[Subscriber]) -> dict[str, AaaUser]:
    """The users the AAA knows: every subscriber's fixed-IP login (several IMSIs of one line share it)."""
    return {s.login: AaaUser(s.login, s.password, s.fixed_ip, s.interim_interval)
            for s in subscribers if s.login}


class Aaa(Protocol):
    """An AAA back-end: ``answer`` returns the exchange with the verdict, the Framed-IP-Address
    and the Reply-Message filled in (and the raw answer when one travelled)."""

    def answer(self, x: RadiusExchange) -> RadiusExchange: ...

    def account(self, rec: AccountingRecord) -> AccountingRecord:
        """Record an Accounting-Request; the record with the answer when one travelled."""
        ...

    def seen(self, session_id: str) -> tuple[int, int] | None:
        """The input and output octets the AAA's last accounting record of ``session_id`` gives
        (Acct-*-Octets plus 2^32 times Acct-*-Gigawords, RFC 2869 §5.1), None before any."""
        ...


class InProcessAaa:
    """The users table checked in-process (RFC 2865 §5.2 PAP, §5.3 CHAP)."""

    def __init__(self, users: Mapping[str, AaaUser]) -> None:
        self.users = dict(users)
        self._seen: dict[str, tuple[int, int]] = {}

    def answer(self, x: RadiusExchange) -> RadiusExchange:
        user = self.users.get(x.username)
        if user is None:
            return x._replace(accepted=False, framed_ip=None, reply_message=f"unknown user {x.username!r}")
        sent_as = "chap" if x.auth == "chap" else "pap"   # no credentials travel as an empty PAP password
        if not credentials_match(sent_as, user.password, x.password, x.chap_id, x.chap_challenge,
                                 x.chap_value):
            return x._replace(accepted=False, framed_ip=None,
                              reply_message=f"wrong password for {x.username!r}")
        return x._replace(accepted=True, framed_ip=user.framed_ip, reply_message="",
                          interim_interval=user.interim_interval)

    def account(self, rec: AccountingRecord) -> AccountingRecord:
        if rec.status != 1:   # a Start carries no octets (RFC 2866 §5.3)
            self._seen[rec.session_id] = (rec.input_octets, rec.output_octets)
        return rec

    def seen(self, session_id: str) -> tuple[int, int] | None:
        return self._seen.get(session_id)


class FreeRadiusAaa:
    """Access-Requests sent to a running :class:`FreeRadiusServer`."""

    def __init__(self, server: FreeRadiusServer, secret: str) -> None:
        from harness.network.radius import RadiusClient

        self.client = RadiusClient("127.0.0.1", secret, auth_port=server.auth_port,
                                   acct_port=server.acct_port)
        assert server.directory is not None
        self.detail = server.directory / "detail"
        # the server outlives a packet core: only the records written from now on are this one's
        self._read = self.detail.stat().st_size if self.detail.exists() else 0
        self._seen: dict[str, tuple[int, int]] = {}

    def answer(self, x: RadiusExchange) -> RadiusExchange:
        from harness.network.radius import access_request

        got = self.client.authenticate(access_request(x))
        return x._replace(accepted=got.accepted, framed_ip=got.framed_ip, reply_message=got.reply_message,
                          answer=got.raw, interim_interval=got.interim_interval)

    def account(self, rec: AccountingRecord) -> AccountingRecord:
        from harness.network.radius import accounting_request

        return rec._replace(answer=self.client.account(accounting_request(rec)))

    def seen(self, session_id: str) -> tuple[int, int] | None:
        """Read from the server's ``detail`` file: rlm_detail writes a record before the
        Accounting-Response leaves (RFC 2866 §4.2: answered once recorded)."""
        if self.detail.exists():
            with open(self.detail, "rb") as f:
                f.seek(self._read)
                text = f.read().decode(errors="replace")
            done = text.rfind("\n\n") + 2 if "\n\n" in text else 0   # complete records only
            self._read += len(text[:done].encode())
            for r in detail_records(text[:done]):
                sid = r.get("Acct-Session-Id")
                if sid is not None and r.get("Acct-Status-Type") in ("Interim-Update", "Stop"):
                    self._seen[sid] = (_octets(r, "Input"), _octets(r, "Output"))
        return self._seen.get(session_id)


def detail_records(text: str) -> list[dict[str, str]]:
    """The records of an rlm_detail file: a date line, then tab-indented ``Attribute = value``
    lines, a blank line after each record; quoted values unquoted."""
    out: list[dict[str, str]] = []
    record: dict[str, str] | None = None
    for line in text.splitlines():
        if not line.strip():
            record = None
        elif not line[0].isspace():
            record = {}
            out.append(record)
        elif record is not None:
            name, _, value = line.strip().partition(" = ")
            record[name] = value[1:-1] if value[:1] == '"' and value[-1:] == '"' else value
    return out


def _octets(record: Mapping[str, str], way: str) -> int:
    """Acct-{way}-Octets plus 2^32 times Acct-{way}-Gigawords (RFC 2869 §5.1, §5.2)."""
    return int(record.get(f"Acct-{way}-Octets", 0)) + (int(record.get(f"Acct-{way}-Gigawords", 0)) << 32)


# --------------------------------------------------------------------------- FreeRADIUS


def freeradius_binary() -> str | None:
    """Debian's ``freeradius`` (``radiusd`` elsewhere), or None when not installed."""
    return shutil.which("freeradius") or shutil.which("radiusd")


def _quoted(text: str) -> str:
    """A double-quoted string of the FreeRADIUS configuration and users files."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def users_file(users: Mapping[str, AaaUser]) -> str:
    """The ``users`` file of rlm_files: check item Cleartext-Password, reply Framed-IP-Address and
    Acct-Interim-Interval."""
    out = []
    for u in users.values():
        out.append(f"{_quoted(u.name)} Cleartext-Password := {_quoted(u.password)}")
        reply = ["Service-Type = Framed-User", "Framed-Protocol = GPRS-PDP-Context"]
        if u.framed_ip:
            reply.append(f"Framed-IP-Address = {u.framed_ip}")
        if u.interim_interval:
            reply.append(f"Acct-Interim-Interval = {int(u.interim_interval)}")
        out.append("\t" + ",\n\t".join(reply))
        out.append("")
    return "\n".join(out)


_RADIUSD_CONF = """\
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = {dir}
raddbdir = {dir}
radacctdir = {dir}
name = freeradius
confdir = {dir}
modconfdir = {dir}
run_dir = {dir}
libdir = /usr/lib/freeradius
pidfile = {dir}/radiusd.pid
correct_escapes = true
max_request_time = 30
cleanup_delay = 5
max_requests = 16384
hostname_lookups = no
log {{
  colourise = no
  auth = yes
}}
security {{
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = yes
}}
thread pool {{
  start_servers = 1
  max_servers = 4
  min_spare_servers = 1
  max_spare_servers = 2
  max_requests_per_server = 0
}}
client packet_core {{
  ipaddr = 127.0.0.1
  secret = {secret}
  require_message_authenticator = yes
}}
modules {{
  pap {{
  }}
  chap {{
  }}
  files {{
    filename = {dir}/users
  }}
  detail {{
    filename = {dir}/detail
  }}
}}
server default {{
  listen {{
    type = auth
    ipaddr = 127.0.0.1
    port = {auth_port}
  }}
  listen {{
    type = acct
    ipaddr = 127.0.0.1
    port = {acct_port}
  }}
  authorize {{
    files
    chap
    pap
  }}
  authenticate {{
    Auth-Type PAP {{
      pap
    }}
    Auth-Type CHAP {{
      chap
    }}
  }}
  post-auth {{
    update reply {{
      Message-Authenticator := 0x00
    }}
    Post-Auth-Type REJECT {{
      update reply {{
        Reply-Message := "%{{Module-Failure-Message}}"
        Message-Authenticator := 0x00
      }}
    }}
  }}
  preacct {{
  }}
  accounting {{
    detail
  }}
}}
"""


def _free_udp_ports(n: int) -> list[int]:
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class FreeRadiusServer:
    """One FreeRADIUS process on 127.0.0.1 serving ``users`` with client secret ``secret``."""

    def __init__(self, users: Mapping[str, AaaUser], secret: str) -> None:
        self.users = dict(users)
        self.secret = secret
        self.auth_port = self.acct_port = 0
        self.directory: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> FreeRadiusServer:
        """Write the configuration, start the server and wait until it is ready."""
        binary = freeradius_binary()
        if binary is None:
            raise AaaError("the freeradius AAA needs Debian's freeradius package "
                           "(apt-get install freeradius)")
        if any(c in self.secret for c in '"\\\n'):
            raise AaaError("the RADIUS shared secret must not contain quotes, backslashes or newlines")
        self.directory = d = Path(tempfile.mkdtemp(prefix="simharness-aaa-"))
        self.auth_port, self.acct_port = _free_udp_ports(2)
        (d / "radiusd.conf").write_text(_RADIUSD_CONF.format(dir=d, secret=_quoted(self.secret),
                                                             auth_port=self.auth_port,
                                                             acct_port=self.acct_port))
        (d / "users").write_text(users_file(self.users))
        (d / "dictionary").write_text("$INCLUDE /usr/share/freeradius/dictionary\n")
        run_as: dict[str, Any] = {}
        if os.geteuid() == 0:   # never run the AAA as root
            try:
                account = pwd.getpwnam(FREERADIUS_USER)
            except KeyError:
                raise AaaError(f"no {FREERADIUS_USER!r} user to run FreeRADIUS as") from None
            run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
            for p in (d, *d.iterdir()):
                os.chown(p, account.pw_uid, account.pw_gid)
        with open(d / "radiusd.out", "wb") as out:
            self._proc = subprocess.Popen(  # noqa: S603 - fixed arguments
                [binary, "-f", "-d", str(d), "-l", "stdout"], stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, **run_as)
        self._wait_ready(d / "radiusd.out")
        return self

    def _wait_ready(self, out: Path) -> None:
        proc = self._proc
        assert proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        text = ""
        while time.monotonic() < deadline and proc.poll() is None:
            text = out.read_text(errors="replace")
            if "Ready to process requests" in text:
                return
            time.sleep(0.01)
        text = out.read_text(errors="replace")
        self.stop()
        tail = "\n".join(text.splitlines()[-8:])
        raise AaaError(f"FreeRADIUS did not start within {START_TIMEOUT:.0f} s:\n{tail}")

    @property
    def log(self) -> str:
        """The server's log (what it decided and why)."""
        p = self.directory / "radiusd.out" if self.directory else None
        return p.read_text(errors="replace") if p is not None and p.exists() else ""

    def stop(self) -> None:
        """Stop the server and remove its configuration."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> FreeRadiusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


#: the FreeRADIUS process of this run: restarted when a scenario brings other users
_running: list[FreeRadiusServer] = []


def freeradius_serving(users: Mapping[str, AaaUser], secret: str) -> FreeRadiusServer:
    """The run's FreeRADIUS server, (re)started so that it serves exactly ``users``."""
    if _running and (_running[0].users != dict(users) or _running[0].secret != secret):
        _running.pop().stop()
    if not _running:
        _running.append(FreeRadiusServer(users, secret).start())
    return _running[0]


def stop_freeradius() -> None:
    """Stop the run's FreeRADIUS server, if any."""
    while _running:
        _running.pop().stop()


atexit.register(stop_freeradius)

# --------------------------------------------------------------------------- choice of back-end

_backend = ["in-process"]


def select_backend(name: str) -> None:
    """Use back-end ``name`` (one of :data:`BACKENDS`) for the packet cores built from now on."""
    if name not in BACKENDS:
        raise AaaError(f"unknown AAA {name!r} ({' or '.join(BACKENDS)})")
    if name == "freeradius" and freeradius_binary() is None:
        raise AaaError("--aaa freeradius needs Debian's freeradius package (apt-get install freeradius)")
    _backend[0] = name


def selected_backend() -> str:
    """The back-end packet cores use (``in-process`` unless :func:`select_backend` said otherwise)."""
    return _backend[0]


def for_users(users: Mapping[str, AaaUser], secret: str) -> Aaa:
    """The selected back-end, knowing ``users``."""
    if _backend[0] == "freeradius":
        return FreeRadiusAaa(freeradius_serving(users, secret), secret)
    return InProcessAaa(users)

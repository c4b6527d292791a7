"""ES9+ over HTTP(S) (GSMA SGP.22 §6.5): the JSON binding of the simulated SM-DP+ on loopback,
and the client the LPA uses to reach an SM-DP+ by HTTP.

Every function is ``POST /gsma/rsp2/es9plus/<function>`` with ``Content-Type: application/json``
and ``X-Admin-Protocol: gsma/rsp/v2.x.y`` (§6.5.1); the answer carries ``header.
functionExecutionStatus`` (§6.5.1.3), HTTP 204 for handleNotification. The TLS server certificate
(CERT.DP.TLS, §4.5.2.1.0.3 role id-rspRole-dp-tls) is signed by the test PKI's CI.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import ssl
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from csim.euicc.pki import TestPki
from harness.network.smdp import status
from harness.network.smdp.server import ES9_FUNCTIONS, Smdp
from harness.network.smdp.status import Es9Error

PATH = "/gsma/rsp2/es9plus/"
ADMIN_PROTOCOL = re.compile(r"gsma/rsp/v2\.\d+\.\d+")
ROLE_DP_TLS = x509.ObjectIdentifier("2.23.146.1.2.1.3")
MAX_BODY = 1 << 20  # an ES9+ request is a few kB; refuse anything larger
TIMEOUT = 30.0
# what the server tells of each request: function, HTTP status, the failure (None: executed)
Observer = Callable[[str, int, status.StatusCode | None], None]


def tls_credentials(pki: TestPki, names: list[str]) -> tuple[bytes, bytes]:
    """CERT.DP.TLS for ``names`` (DNS names or IP addresses) signed by the CI, and its key (PEM),
    on NIST P-256 (TLS clients do not all offer brainpool curves)."""
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for n in names:
        host = n.rsplit(":", 1)[0] if n.count(":") == 1 else n
        try:
            alt.append(x509.IPAddress(ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "simharness test SM-DP+"),
                    x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
                ]
            )
        )
        .issuer_name(pki.ci_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.CertificatePolicies([x509.PolicyInformation(ROLE_DP_TLS, None)]), critical=True)
        .sign(pki.ci_key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # the SM-DP+ logs to the run's event log

    def _send(self, code: int, body: Mapping[str, Any] | None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("X-Admin-Protocol", "gsma/rsp/v2.2.0")
        if body is not None:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _refuse(self, function: str, code: int, why: str) -> None:
        """An HTTP-level refusal (no ES9+ function ran), told to the observer."""
        if self.server.observer is not None:
            self.server.observer(function, code, status.StatusCode("HTTP", str(code), why))
        self._send(code, None)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        function = self.path[len(PATH) :] if self.path.startswith(PATH) else ""
        if function not in ES9_FUNCTIONS:
            self._refuse(self.path, 404, "not an ES9+ function")
            return
        if not ADMIN_PROTOCOL.fullmatch(self.headers.get("X-Admin-Protocol", "")):
            self._refuse(function, 400, "no X-Admin-Protocol gsma/rsp/v2.x.y")  # SGP.22 §6.5.1
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY:
            self._refuse(function, 400, f"body of {length} bytes")
            return
        observer = self.server.observer
        try:
            body = json.loads(self.rfile.read(length))
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
        except ValueError:
            failed = status.StatusCode(*status.MISSING_ELEMENT, "malformed JSON")
            if observer is not None:
                observer(function, 200, failed)
            self._send(200, {"header": {"functionExecutionStatus": failed.json()}})
            return
        with self.server.lock:  # the SM-DP+ is one state machine
            try:
                answer = self.server.smdp.handle(function, body)
            except Es9Error as exc:
                if observer is not None:
                    observer(function, 200, exc.status)
                self._send(200, {"header": {"functionExecutionStatus": exc.status.json()}})
                return
            if observer is not None:
                observer(function, 204 if answer is None else 200, None)
        if answer is None:
            self._send(204, None)
        else:
            self._send(200, {"header": status.success(), **answer})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], smdp: Smdp, observer: Observer | None) -> None:
        super().__init__(address, _Handler)
        self.smdp = smdp
        self.observer = observer
        self.lock = threading.Lock()


class Es9Server:
    """The SM-DP+ ``smdp`` answering ES9+ on ``host`` (loopback), TLS unless ``tls`` is False;
    :attr:`address` is ``host:port``, what an activation code names. ``observer`` is called with
    each request's function, HTTP status and failure (None when executed), inside the SM-DP+'s
    lock. A context manager."""

    def __init__(self, smdp: Smdp, host: str = "127.0.0.1", port: int = 0, tls: bool = True,
                 observer: Observer | None = None) -> None:
        if not ip_address(host).is_loopback:
            raise ValueError(f"the simulated SM-DP+ listens on loopback only, not {host}")
        self.smdp = smdp
        self.httpd = _Server((host, port), smdp, observer)
        self.address = f"{host}:{self.httpd.server_address[1]}"
        self.ca_pem = b""
        self.tls_pem = b""  # CERT.DP.TLS (PEM)
        if tls:
            cert, key = tls_credentials(smdp.pki, [self.address, smdp.address])
            self.tls_pem = cert
            self._dir = tempfile.TemporaryDirectory(prefix="simharness-smdp-")
            cert_path, key_path = Path(self._dir.name) / "tls.pem", Path(self._dir.name) / "tls_key.pem"
            cert_path.write_bytes(cert)
            key_path.write_bytes(key)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(cert_path, key_path)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.ca_pem = smdp.pki.ci_cert.public_bytes(serialization.Encoding.PEM)
        self.url = f"{'https' if tls else 'http'}://{self.address}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="es9-server", daemon=True)

    def __enter__(self) -> Es9Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()
        if hasattr(self, "_dir"):
            self._dir.cleanup()

    def client(self) -> Es9Client:
        """A client that trusts this server's CI (the TLS certificate is checked)."""
        return Es9Client(self.url, ca_pem=self.ca_pem or None)


class Es9Client:
    """ES9+ by HTTP(S) to the SM-DP+ at ``url``: a callable ``(function, body) -> answer`` as the
    LPA wants it; a ``Failed`` header raises :class:`Es9Error`."""

    def __init__(self, url: str, ca_pem: bytes | None = None, timeout: float = TIMEOUT) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"an SM-DP+ is reached by http:// or https://, not {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.context: ssl.SSLContext | None = None
        if url.startswith("https://"):
            self.context = ssl.create_default_context(cadata=ca_pem.decode() if ca_pem else None)

    def __call__(self, function: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked at construction
            f"{self.url}{PATH}{function}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Admin-Protocol": "gsma/rsp/v2.2.0",
                "User-Agent": "simharness-lpa",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as resp:  # noqa: S310
                code, data = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            raise Es9Error("1.1", "1.1", f"{function}: HTTP {exc.code}") from None
        if code == 204 or not data:
            return None
        answer = json.loads(data)
        execution = answer.pop("header", {}).get("functionExecutionStatus", {})
        if execution.get("status") == "Failed":
            codes = execution.get("statusCodeData", {})
            raise Es9Error(
                str(codes.get("subjectCode")), str(codes.get("reasonCode")), str(codes.get("message", ""))
            )
        return answer


__all__ = ["Es9Client", "Es9Server", "tls_credentials"]

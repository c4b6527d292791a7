"""ES9+ / ES2+ function execution status (GSMA SGP.22 §6.5.1.2-§6.5.1.4): the header of every JSON
answer, and the subject and reason codes of a failed function (SGP.22 §5.6, §5.3, and the common
codes of §6.5.1.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StatusCode:
    """``statusCodeData``: what failed (subject code) and why (reason code), with a message."""

    subject: str
    reason: str
    message: str

    def json(self) -> dict[str, Any]:
        """The JSON ``functionExecutionStatus`` of a failed function (SGP.22 §6.5.1.3)."""
        return {
            "status": "Failed",
            "statusCodeData": {
                "subjectCode": self.subject,
                "reasonCode": self.reason,
                "message": self.message,
            },
        }

    def __str__(self) -> str:
        return f"{self.subject}/{self.reason} {self.message}"


class Es9Error(Exception):
    """A function of the SM-DP+ that ended ``Failed`` with its status code."""

    def __init__(self, subject: str, reason: str, message: str) -> None:
        super().__init__(f"{subject}/{reason} {message}")
        self.status = StatusCode(subject, reason, message)


def success() -> dict[str, Any]:
    """The header of a function executed successfully (SGP.22 §6.5.1.3)."""
    return {"functionExecutionStatus": {"status": "Executed-Success"}}


# SGP.22 §5.6.1-§5.6.5 (ES9+) and §5.3.1 (ES2+.DownloadOrder): subject code, reason code
EUICC_SIGNATURE = ("8.1", "6.1")  # eUICC: verification failed (a signature)
EUICC_CERTIFICATE = ("8.1.3", "6.1")  # eUICC certificate: verification failed
EID_REFUSED = ("8.1.1", "3.8")  # EID: refused (not the EID the profile is bound to)
PROFILE_TYPE_UNKNOWN = ("8.2.5", "3.9")  # Profile Type: unknown (ES2+.DownloadOrder)
NO_ELIGIBLE_PROFILE = ("8.2.5", "4.3")  # Profile Type: no eligible Profile for this eUICC/Device
MATCHING_ID_REFUSED = ("8.2.6", "3.8")  # Matching ID: refused
CC_MISSING = ("8.2.7", "2.2")  # Confirmation Code: mandatory element missing
CC_REFUSED = ("8.2.7", "3.8")  # Confirmation Code: refused
CC_RETRIES_EXCEEDED = ("8.2.7", "6.4")  # Confirmation Code: maximum number of retries exceeded
BPP_NOT_AVAILABLE = ("8.2", "3.7")  # Profile: BPP not available for a new binding
SMDP_ADDRESS_REFUSED = ("8.8.1", "3.8")  # SM-DP+ Address: invalid
CI_KEY_UNSUPPORTED = ("8.8.2", "3.1")  # Security configuration: none of the CI keys is supported
TRANSACTION_UNKNOWN = ("8.10.1", "3.9")  # TransactionId: unknown
CI_KEY_UNKNOWN = ("8.11.1", "3.9")  # CI public key: unknown
MISSING_ELEMENT = ("1.3.1", "2.2")  # a mandatory element of the request is missing

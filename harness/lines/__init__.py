"""A line's life on the operator side: orders and opening hours, numbering, contract actions,
SIM swap and the self-care e-mails, under each provider's own rules (``fixtures/lines``)."""

from .fleet import Fleet, LineError, MobileLine, Outcome
from .opening_hours import OpeningHours, Window
from .rules import LineRules, NetworkLineRules, load_rules

__all__ = [
    "Fleet",
    "LineError",
    "LineRules",
    "MobileLine",
    "NetworkLineRules",
    "OpeningHours",
    "Outcome",
    "Window",
    "load_rules",
]

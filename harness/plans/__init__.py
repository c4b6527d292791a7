"""Network-side plans: catalogue, zones, counters, enforcement, contract changes, billing."""

from .catalogue import Catalogue, NetworkRules, Offer, Subscription, default_catalogue
from .clock import Clock, parse_duration, parse_instant
from .engine import Line, PlanError, PolicyEngine
from .zones import ZONES, zone_of

__all__ = [
    "ZONES",
    "Catalogue",
    "Clock",
    "Line",
    "NetworkRules",
    "Offer",
    "PlanError",
    "PolicyEngine",
    "Subscription",
    "default_catalogue",
    "parse_duration",
    "parse_instant",
    "zone_of",
]

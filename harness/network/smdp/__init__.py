"""A simulated SM-DP+ (GSMA SGP.22): ES9+ for the LPA, in process and over HTTP(S) on loopback,
and the operator's profile orders under its rules."""

from harness.network.smdp.inventory import ProfileOrder, load_devices, load_rules
from harness.network.smdp.server import ES9_FUNCTIONS, Smdp
from harness.network.smdp.status import Es9Error, StatusCode

__all__ = ["ES9_FUNCTIONS", "Es9Error", "ProfileOrder", "Smdp", "StatusCode", "load_devices", "load_rules"]

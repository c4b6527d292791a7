"""A simulated eUICC (GSMA SGP.22): the ISD-R with ES10a/b/c and ISD-Ps holding csim cards."""

from csim.euicc.euicc import Euicc, isdp_aid
from csim.euicc.isdr import ISDR_AID, IsdP, IsdR
from csim.euicc.pki import EuiccCredentials, TestPki

__all__ = ["Euicc", "EuiccCredentials", "ISDR_AID", "IsdP", "IsdR", "TestPki", "isdp_aid"]

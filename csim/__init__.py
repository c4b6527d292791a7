"""csim: a simulated UICC/USIM (ETSI TS 102 221, 3GPP TS 31.102) with a classic SIM view."""

from csim.card import Card
from csim.image import AuthSpec, CardImage, FileSpec, PinSpec

__all__ = ["AuthSpec", "Card", "CardImage", "FileSpec", "PinSpec"]

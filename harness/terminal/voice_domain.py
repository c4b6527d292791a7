"""Where the terminal places a voice call (TS 23.221 §7.2a voice domain selection): over LTE/NR
(VoLTE) when the user turned it on, over Wi-Fi (VoWiFi) when cellular coverage is poor and the user
turned it on, otherwise over the circuit-switched domain (2G/3G fallback).

Whether the network offers IMS voice where the terminal is is the network's answer, passed in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class VoiceSettings:
    """The terminal's settings ("l'utilisateur choisit de l'activer ou non sur son terminal")."""

    volte: bool = False
    vowifi: bool = False
    wifi: bool = False


def bearer(settings: VoiceSettings, rat: str | None, ims_offered: bool) -> str | None:
    """``volte``, ``vowifi``, ``cs`` or None (no way to place the call)."""
    if rat in ("4G", "5G") and settings.volte and ims_offered:
        return "volte"
    if rat is None:  # no cellular coverage
        return "vowifi" if settings.vowifi and settings.wifi and ims_offered else None
    return "cs"

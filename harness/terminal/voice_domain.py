"""Where the terminal places a voice call (TS 23.221 §7.2a voice domain selection): over LTE/NR
(VoLTE) when the user turned it on, over Wi-Fi (VoWiFi) when cellular coverage is poor and the user
turned it on, otherwise over the circuit-switched domain (2G/3G fallback).

"Poor" coverage: the AlphaLink mobile reference says only "En cas de couverture cellulaire
insuffisante" and gives no level. The terminal here is *cellular preferred* (the usual setting, the
one the reference describes): Wi-Fi carries the call when no cell is heard, or when the serving
cell is not of high quality by TS 23.122 §4.4.3.1.1 iv (4G/5G RSRP below -110 dBm, 3G RSCP below
-95 dBm, 2G below -85 dBm), the thresholds the terminal already applies to its cells
(:func:`harness.terminal.plmn_selection.is_high_quality`).

Whether the network offers IMS voice where the terminal is is the network's answer, passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.terminal.plmn_selection import is_high_quality


@dataclass
class VoiceSettings:
    """The terminal's settings ("l'utilisateur choisit de l'activer ou non sur son terminal")."""

    volte: bool = False
    vowifi: bool = False
    wifi: bool = False


def poor_coverage(rat: str | None, signal: float | None) -> bool:
    """No cell at all, or a serving cell below TS 23.122 §4.4.3.1.1 iv's high quality level."""
    return rat is None or (signal is not None and not is_high_quality(rat, signal))


def bearer(
    settings: VoiceSettings, rat: str | None, ims_offered: bool, signal: float | None = None
) -> str | None:
    """``volte``, ``vowifi``, ``cs`` or None (no way to place the call); ``rat`` and ``signal``
    (dBm) are the serving cell's, None without cellular coverage."""
    if poor_coverage(rat, signal) and settings.vowifi and settings.wifi and ims_offered:
        return "vowifi"
    if rat is None:
        return None
    if rat in ("4G", "5G") and settings.volte and ims_offered:
        return "volte"
    return "cs"

"""Every bundled card profile read by osmocom pySim through pcscd + vpcd.

pySim-shell's ``fsdump --json`` decodes every file it knows on the card; each value must equal
what the profile YAML declares (read with ``csim.profile.load_profile``, never decoded by
csim's codecs). ``ust_service_check``, ``export`` and ``pySim-read.py`` must complete cleanly.
Where pySim disagrees with the card today the case is ``xfail(strict=True)`` with pySim's
complaint, so that it turns into a failure the day the card is fixed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.oracle

ROOT = Path(__file__).resolve().parents[2]
# the bundled cards, and the demo card with SUCI calculated by the USIM, ADF.ISIM and the ARA-M
DEMO_CARDS = ROOT / "tests" / "data" / "cards"
CARDS = sorted(p.stem for p in (ROOT / "fixtures" / "cards").glob("*.yaml")) + ["demo-suci-aram"]

# TS 31.102 §4.2.5 Tables 4.2.5.1/4.2.5.2 (access technology identifier), the profile's names to
# the technologies pySim lists: "eutran" is coding 100 of Table 4.2.5.1 (WB-S1 and NB-S1).
ACT = {
    "ngran": {"NG-RAN"}, "eutran": {"E-UTRAN WB-S1", "E-UTRAN NB-S1"}, "eutran_wb": {"E-UTRAN WB-S1"},
    "eutran_nb": {"E-UTRAN NB-S1"}, "utran": {"UTRAN"}, "gsm": {"GSM"}, "ec_gsm_iot": {"EC-GSM-IoT"},
    "gsm_compact": {"GSM COMPACT"}, "cdma2000_hrpd": {"cdma2000 HRPD"}, "cdma2000_1xrtt": {"cdma2000 1xRTT"},
}
# TS 23.038 §5, CBS data coding scheme, language group 0000: the code of each language (EF.LP,
# TS 51.011 §10.3.1)
CBS_LANGUAGE = {"de": 0x0, "en": 0x1, "it": 0x2, "fr": 0x3, "es": 0x4, "nl": 0x5, "sv": 0x6, "da": 0x7,
                "pt": 0x8, "fi": 0x9, "no": 0xA, "el": 0xB, "tr": 0xC, "hu": 0xD, "pl": 0xE}


def _plmn(text: str) -> dict[str, str]:
    mcc, mnc = text.split("-")
    return {"mcc": mcc, "mnc": mnc}


def _entries(body: list[Any]) -> list[Any]:
    """The used entries of a PLMN list (pySim prints an unused entry as null)."""
    return [e for e in body if e]


def _plmns(body: list[Any]) -> list[dict[str, str]]:
    return [{"mcc": e["mcc"], "mnc": e["mnc"]} for e in _entries(body)]


def _with_act(body: list[Any]) -> list[dict[str, Any]]:
    return [{"mcc": e["mcc"], "mnc": e["mnc"], "act": set(e["act"])} for e in _entries(body)]


def _expected_with_act(entries: list[Any]) -> list[dict[str, Any]]:
    return [{**_plmn(e.plmn), "act": set().union(*(ACT[a] for a in e.act))} for e in entries]


def _services(body: dict[str, Any]) -> set[int]:
    return {int(n) for n, v in body.items() if v["activated"]}


def _spn(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in ("spn", "show_in_hplmn", "hide_in_oplmn")}


def _expected_spn(p: Any) -> dict[str, Any]:
    """TS 31.102 §4.2.12: b1 = display of the registered PLMN required in the HPLMN, b2 = 1 display
    of the SPN not required outside the HPLMN."""
    spn = p.active_profile.spn
    return {"spn": spn.name, "show_in_hplmn": spn.display_plmn_on_home,
            "hide_in_oplmn": not spn.display_spn_when_roaming}


def _msisdn(body: list[Any]) -> dict[str, Any] | None:
    first = body[0]
    if first is None or first.get("len_of_bcd") == 0xFF:  # an unused record is all FF
        return None
    return {"dialing_nr": first["dialing_nr"], "type_of_number": first["ton_npi"]["type_of_number"]}


def _expected_msisdn(p: Any) -> dict[str, Any] | None:
    """TS 31.102 §4.2.26 / TS 24.008 §10.5.4.7: a '+' number is international."""
    if p.msisdn is None:
        return None
    ton = "international" if p.msisdn.startswith("+") else "unknown"
    return {"dialing_nr": p.msisdn.lstrip("+"), "type_of_number": ton}


def _application(body: list[Any]) -> list[dict[str, str]]:
    out = []
    for record in _entries(body):
        fields: dict[str, str] = {}
        for item in record["application_template"]:
            fields.update(item)
        out.append({"aid": fields["application_id"], "label": fields.get("application_label")})
    return out


def _expected_applications(p: Any) -> list[dict[str, str]]:
    """EF.DIR (TS 102 221 §13.1): the USIM's record, then the ISIM's when the profile has one."""
    apps = [{"aid": p.usim_aid.hex(), "label": p.usim_label}]
    if p.isim is not None:
        apps.append({"aid": p.isim.aid.hex(), "label": p.isim.label})
    return apps


def _opl(body: list[Any]) -> list[dict[str, Any]]:
    """EF.OPL entries; pySim prints the BCD wild digit 'D' of TS 31.102 §4.2.59 in lower case."""
    return [{"plmn": e["lai"]["mcc_mnc"].upper(), "lac_min": int(e["lai"]["lac_min"], 16),
             "lac_max": int(e["lai"]["lac_max"], 16), "pnn_record": e["pnn_record_id"]}
            for e in _entries(body)]


def _opl5g(body: list[Any]) -> list[dict[str, Any]]:
    """DF.5GS/EF.OPL5G entries (TS 31.102 §4.4.11.9): PLMN, 3-byte TAC range, PNN record."""
    return [{"plmn": e["tai"]["mcc_mnc"].upper(), "tac_min": int(e["tai"]["tac_min"], 16),
             "tac_max": int(e["tai"]["tac_max"], 16), "pnn_record": e["pnn_record_id"]}
            for e in _entries(body)]


def _pnn_records(body: list[Any]) -> list[set[str]]:
    """The name elements of each EF.PNN record (pySim leaves the TS 24.008 §10.5.3.5a names coded)."""
    return [{k for item in record for k in item} for record in _entries(body)]


def _expected_pnn_records(p: Any) -> list[set[str]]:
    return [{"full_name_for_network", *(["short_name_for_network"] if "short" in r else [])}
            for r in p.files["ADF_USIM/EF_PNN"] if r]


def _loci_5gs(body: dict[str, Any]) -> dict[str, Any]:
    return {"guti": body["5g_guti"], "status": body["5gs_update_status"]}


def _expected_loci_5gs(p: Any) -> dict[str, Any]:
    """TS 31.102 §4.4.11.2 on a card no terminal registered: no 5G-GUTI, 5U2 NOT UPDATED."""
    from csim.profile import DEFAULTS

    value = p.files.get("DF_5GS/EF_5GS3GPPLOCI", DEFAULTS["DF_5GS/EF_5GS3GPPLOCI"])
    return {"guti": value["guti"] or "ff" * 13, "status": value["status"]}


# name -> (file in pySim's fsdump, what pySim's decoded body shows, what the profile says)
Check = tuple[str, Callable[[Any], Any], Callable[[Any], Any]]
USIM, GSM = "MF/ADF.USIM", "MF/DF.GSM"
CHECKS: dict[str, Check] = {
    "ICCID": ("MF/EF.ICCID", lambda b: b["iccid"], lambda p: p.iccid),
    "EF.DIR": ("MF/EF.DIR", _application, lambda p: _expected_applications(p)),
    "PL": ("MF/EF.PL", _entries, lambda p: p.languages),
    "IMSI": (f"{USIM}/EF.IMSI", lambda b: b["imsi"], lambda p: p.active_profile.imsi),
    "AD": (f"{USIM}/EF.AD", lambda b: b["mnc_len"], lambda p: p.active_profile.mnc_length),
    "SPN": (f"{USIM}/EF.SPN", _spn, _expected_spn),
    "LI": (f"{USIM}/EF.LI", _entries, lambda p: p.languages),
    "HPPLMN": (f"{USIM}/EF.HPPLMN", lambda b: b, lambda p: p.hplmn_search_minutes // 6),
    "UST": (f"{USIM}/EF.UST", _services, lambda p: set(p.ust)),
    "EST": (f"{USIM}/EF.EST", _services, lambda p: set(p.est)),
    "ACC": (f"{USIM}/EF.ACC", lambda b: {k for k, v in b.items() if v},
            lambda p: {f"ACC{n}" for n in p.active_profile.acc}),
    "FPLMN": (f"{USIM}/EF.FPLMN", _plmns, lambda p: [_plmn(x) for x in p.active_profile.fplmn]),
    "EHPLMN": (f"{USIM}/EF.EHPLMN", _plmns, lambda p: [_plmn(x) for x in p.active_profile.ehplmn]),
    "PLMNwAcT": (f"{USIM}/EF.PLMNwAcT", _with_act, lambda p: _expected_with_act(p.active_profile.plmnwact)),
    "OPLMNwAcT": (f"{USIM}/EF.OPLMNwAcT", _with_act,
                  lambda p: _expected_with_act(p.active_profile.oplmnwact)),
    "HPLMNwAcT": (f"{USIM}/EF.HPLMNwAcT", _with_act,
                  lambda p: _expected_with_act(p.active_profile.hplmnwact)),
    "MSISDN": (f"{USIM}/EF.MSISDN", _msisdn, _expected_msisdn),
    "GSM IMSI": (f"{GSM}/EF.IMSI", lambda b: b["imsi"], lambda p: p.active_profile.imsi),
    "GSM AD": (f"{GSM}/EF.AD", lambda b: b["extensions"]["mnc_len"], lambda p: p.active_profile.mnc_length),
    "GSM SPN": (f"{GSM}/EF.SPN", _spn, _expected_spn),
    # EF.LP: an unused byte is FF (TS 51.011 §10.3.1)
    "GSM LP": (f"{GSM}/EF.LP", lambda b: [e for e in _entries(b) if e != "ff"],
               lambda p: [f"{CBS_LANGUAGE[x]:02x}" for x in p.languages]),
    "GSM HPPLMN": (f"{GSM}/EF.HPPLMN", lambda b: b["raw"], lambda p: f"{p.hplmn_search_minutes // 6:02x}"),
    "GSM SST": (f"{GSM}/EF.SST", _services, lambda p: set(p.sst)),
    "GSM ACC": (f"{GSM}/EF.ACC", lambda b: {k for k, v in b.items() if v},
                lambda p: {f"ACC{n}" for n in p.active_profile.acc}),
    "GSM FPLMN": (f"{GSM}/EF.FPLMN", _plmns, lambda p: [_plmn(x) for x in p.active_profile.fplmn]),
    "GSM PLMNwAcT": (f"{GSM}/EF.PLMNwAcT", _with_act,
                     lambda p: _expected_with_act(p.active_profile.plmnwact)),
    "GSM OPLMNwAcT": (f"{GSM}/EF.OPLMNwAcT", _with_act,
                      lambda p: _expected_with_act(p.active_profile.oplmnwact)),
    "GSM HPLMNwAcT": (f"{GSM}/EF.HPLMNwAcT", _with_act,
                      lambda p: _expected_with_act(p.active_profile.hplmnwact)),
}

# Files that a service of EF_UST calls for (TS 31.102 §4.2.8), checked on the cards whose profile
# declares them; on the others pySim must find no such file: name -> (check, service)
OPTIONAL: dict[str, tuple[Check, int]] = {
    "GID1": ((f"{USIM}/EF.GID1", lambda b: b["raw"], lambda p: p.files["ADF_USIM/EF_GID1"].lower()), 17),
    "PNN": ((f"{USIM}/EF.PNN", _pnn_records, _expected_pnn_records), 45),
    "OPL": ((f"{USIM}/EF.OPL", _opl, lambda p: [e for e in p.files["ADF_USIM/EF_OPL"] if e]), 46),
    "OPL5G": ((f"{USIM}/DF.5GS/EF.OPL5G", _opl5g,
               lambda p: [e for e in p.files["DF_5GS/EF_OPL5G"] if e]), 129),
    "5GS3GPPLOCI": ((f"{USIM}/DF.5GS/EF.5GS3GPPLOCI", _loci_5gs, _expected_loci_5gs), 122),
}

# ADF.ISIM (TS 31.103 §4.2), in the fsdump pySim-shell makes with ADF.ISIM selected
ISIM = "MF/ADF.ISIM"
ISIM_CHECKS: dict[str, Check] = {
    "IMPI": (f"{ISIM}/EF.IMPI", lambda b: b["nai"], lambda p: p.isim.impi),
    "DOMAIN": (f"{ISIM}/EF.DOMAIN", lambda b: b["domain"], lambda p: p.isim.domain),
    "IMPU": (f"{ISIM}/EF.IMPU", lambda b: [e["impu"] for e in _entries(b)], lambda p: p.isim.impu),
    "IST": (f"{ISIM}/EF.IST", _services, lambda p: set(p.isim.ist)),
    "P-CSCF": (f"{ISIM}/EF.P-CSCF", lambda b: [e["pcscf_address"]["address"] for e in _entries(b)],
               lambda p: [a["address"] for a in p.isim.pcscf]),
}
def _card_file(card: str) -> Path:
    bundled = ROOT / "fixtures" / "cards" / f"{card}.yaml"
    return bundled if bundled.is_file() else DEMO_CARDS / f"{card}.yaml"


ISIM_CARDS = [c for c in CARDS if "\nisim:" in _card_file(c).read_text()]

# Where pySim disagrees with the card today: (check, card or "*") -> pySim's complaint and why.
_ALPHALINK = ("alphalink-bouygues", "alphalink-orange", "alphalink-orange-data-only",
              "alphalink-orange-domestic-only")
DISAGREES: dict[tuple[str, str], str] = {
    # TS 31.103 §4.2.8: EF_P-CSCF holds the P-CSCF addresses of IST service 1 ("P-CSCF address") and
    # service 5 (P-CSCF discovery for IMS local break out); pySim's ts_31_103.py gates the file on 5 only
    **{("ist_service_check", c): "pySim declares EF.P-CSCF with IST service 5 only and reports 'EF.P-CSCF is "
       "selectable but should not' on a card with service 1" for c in ("demo-mvno-5g", "demo-suci-aram")},
    **{("pySim-read", c): "pySim-read has no PIN option and reads EF.IMSI before PIN1 is verified: PIN1 is "
                          "enabled on this card, so it answers 'access condition not fulfilled' as a real "
                          "card does ('SW match failed! Expected 9000')" for c in _ALPHALINK},
}

# EF -> the EF_UST service that decides whether the card carries it (TS 31.102 §4.2.8): with the
# service off, pySim must find no such file
SERVICE_OF = {"EST": 34, "MSISDN": 21, "EHPLMN": 71}


def _marks(check: str, card: str) -> list[Any]:
    reason = DISAGREES.get((check, card)) or DISAGREES.get((check, "*"))
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


def _profile(card: str) -> Any:
    from csim.profile import load_profile

    return load_profile(_card_file(card))


@pytest.fixture(scope="module")
def fsdump(request: pytest.FixtureRequest, oracle_reader: Any,
           tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    """(profile, pySim-shell's ``fsdump --json`` of the served card), once per card and worker."""
    profile = _profile(request.param)
    dump = oracle_reader.shell_json(profile, ["fsdump --json"], tmp_path_factory.mktemp("fsdump"))
    return profile, dump


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("fsdump", CARDS, indirect=True)
def test_pysim_decodes_what_the_profile_declares(fsdump: tuple[Any, dict[str, Any]], check: str,
                                                 request: pytest.FixtureRequest) -> None:
    profile, dump = fsdump
    for mark in _marks(check, profile.name):
        request.applymarker(mark)
    path, shown, declared = CHECKS[check]
    entry = dump["files"].get(path)
    if check in SERVICE_OF and SERVICE_OF[check] not in profile.ust:
        assert entry is None or entry.get("error", {}).get("sw_actual") == "6a82", (
            f"{path} is on the card though service {SERVICE_OF[check]} is off: {entry}")
        return
    assert entry is not None, f"pySim's fsdump has no {path}"
    assert "error" not in entry, f"pySim cannot read {path}: {entry['error']}"
    assert shown(entry["body"]) == declared(profile)


@pytest.mark.parametrize("check", list(OPTIONAL))
@pytest.mark.parametrize("fsdump", CARDS, indirect=True)
def test_pysim_decodes_the_files_services_call_for(fsdump: tuple[Any, dict[str, Any]], check: str) -> None:
    """EF_GID1, EF_PNN, EF_OPL, DF.5GS/EF_5GS3GPPLOCI and EF_OPL5G as pySim decodes them, where
    the card's EF_UST calls for them; absent (6A82) where it does not."""
    profile, dump = fsdump
    (path, shown, declared), service = OPTIONAL[check]
    entry = dump["files"].get(path)
    if service not in profile.ust:
        assert entry is None or entry.get("error", {}).get("sw_actual") == "6a82", (
            f"{path} is on the card though service {service} is off: {entry}")
        return
    assert entry is not None, f"pySim's fsdump has no {path}"
    assert "error" not in entry, f"pySim cannot read {path}: {entry['error']}"
    assert shown(entry["body"]) == declared(profile)


@pytest.fixture(scope="module")
def isim_dump(request: pytest.FixtureRequest, oracle_reader: Any,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    """(profile, pySim-shell's ``fsdump --json`` with ADF.ISIM selected), once per card and worker."""
    profile = _profile(request.param)
    dump = oracle_reader.shell_json(profile, ["select ADF.ISIM", "fsdump --json"],
                                    tmp_path_factory.mktemp("isim"))
    return profile, dump


@pytest.mark.parametrize("check", list(ISIM_CHECKS))
@pytest.mark.parametrize("isim_dump", ISIM_CARDS, indirect=True)
def test_pysim_decodes_the_isim_the_profile_declares(isim_dump: tuple[Any, dict[str, Any]],
                                                     check: str) -> None:
    profile, dump = isim_dump
    path, shown, declared = ISIM_CHECKS[check]
    entry = dump["files"].get(path)
    assert entry is not None, f"pySim's fsdump has no {path}"
    assert "error" not in entry, f"pySim cannot read {path}: {entry['error']}"
    assert shown(entry["body"]) == declared(profile)


@pytest.mark.parametrize("card", [pytest.param(c, marks=_marks("ist_service_check", c)) for c in ISIM_CARDS])
def test_ist_service_check_is_clean(card: str, oracle_reader: Any, tmp_path: Path) -> None:
    """pySim's service/file consistency check of EF.IST (TS 31.103 §4.2.7)."""
    run = oracle_reader.shell(_profile(card), ["select ADF.ISIM", "select EF.IST", "ist_service_check"],
                              tmp_path)
    errors = [line.strip() for line in (run.stdout + run.stderr).splitlines() if "ERROR" in line]
    assert errors == []
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Checking service No" in run.stdout


@pytest.mark.parametrize("fsdump", CARDS, indirect=True)
def test_pysim_sees_the_profile_atr(fsdump: tuple[Any, dict[str, Any]]) -> None:
    profile, dump = fsdump
    assert dump["atr"] == profile.atr.hex()


# -- ust_service_check, export, pySim-read ---------------------------------------------------------


@pytest.mark.parametrize("card", [pytest.param(c, marks=_marks("ust_service_check", c)) for c in CARDS])
def test_ust_service_check_is_clean(card: str, oracle_reader: Any, tmp_path: Path) -> None:
    """pySim's service/file consistency check of EF.UST (TS 31.102 §4.2.8)."""
    run = oracle_reader.shell(_profile(card), ["select ADF.USIM", "select EF.UST", "ust_service_check"],
                              tmp_path)
    errors = [line.strip() for line in (run.stdout + run.stderr).splitlines() if "ERROR" in line]
    assert errors == []
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Checking service No" in run.stdout


# TS 102 221 §13 and TS 31.102 §4.2 / §4.4 mandatory files: a card may leave any other file out.
MANDATORY = {
    "MF/EF.DIR", "MF/EF.ICCID", "MF/EF.PL", "MF/EF.ARR",
    "MF/ADF.USIM/EF.LI", "MF/ADF.USIM/EF.IMSI", "MF/ADF.USIM/EF.Keys", "MF/ADF.USIM/EF.KeysPS",
    "MF/ADF.USIM/EF.HPPLMN", "MF/ADF.USIM/EF.UST", "MF/ADF.USIM/EF.ACC", "MF/ADF.USIM/EF.FPLMN",
    "MF/ADF.USIM/EF.LOCI", "MF/ADF.USIM/EF.AD", "MF/ADF.USIM/EF.PSLOCI", "MF/ADF.USIM/EF.START-HFN",
    "MF/ADF.USIM/EF.THRESHOLD", "MF/ADF.USIM/EF.NETPAR", "MF/ADF.USIM/EF.ECC",
}
_BAD = re.compile(r"^#  (?P<path>\S+?)/(?P<name>[^/,]+), (?P<error>.*)$")


@pytest.mark.parametrize("card", [pytest.param(c, marks=_marks("export", c)) for c in CARDS])
def test_export_fails_only_on_files_left_out(card: str, oracle_reader: Any, tmp_path: Path) -> None:
    """``export`` of the whole card: a file may be missing (6A82) only if no spec makes it mandatory;
    every file present exports."""
    run = oracle_reader.shell(_profile(card), ["export"], tmp_path)
    assert "# Export summary" in run.stdout or "Export summary" in run.stdout, run.stderr[-2000:]
    summary = run.stdout[run.stdout.rindex("Export summary"):]
    bad = [m.groupdict() for m in map(_BAD.match, summary.splitlines()) if m]
    unexpected = [f"{b['path']}: {b['error']}" for b in bad
                  if "6a82" not in b["error"].lower() or b["path"] in MANDATORY]
    assert unexpected == []


@pytest.mark.parametrize("card", [pytest.param(c, marks=_marks("pySim-read", c)) for c in CARDS])
def test_pysim_read_completes(card: str, oracle_reader: Any) -> None:
    profile = _profile(card)
    run = oracle_reader.read(profile)
    assert run.returncode == 0, (run.stdout + run.stderr)[-2000:]
    assert "Traceback" not in run.stderr
    assert f"ICCID: {profile.iccid}" in run.stdout

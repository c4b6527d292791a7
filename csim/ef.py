"""The elementary files the simulated card carries, declared once.

Each :class:`EF` names its file identifier, SFI, parent directory, structure, size, access
conditions (TS 31.102 §4.2 / TS 51.011 §10 / TS 102 221 §13 tables), its codec from
:mod:`csim.encoding` and its own test vectors (encoded hex, decoded value). The profile
builder fills the tree from this table and ``simharness card info`` decodes with it.

Codecs: ``encode(value, size) -> bytes`` where ``size`` is the file size (transparent) or the
record length (linear fixed, one record per call); ``decode(data) -> value``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from csim import encoding as enc
from csim.image import ADM1, ALW, NEV, PIN1, PIN2

# directories of the tree: name -> path from the MF
DIRECTORIES: dict[str, str] = {
    "MF": "3F00",
    "DF_TELECOM": "3F00/7F10",
    "DF_GSM": "3F00/7F20",
    "ADF_USIM": "3F00/7FF0",
    "DF_GSM_ACCESS": "3F00/7FF0/5F3B",  # TS 31.102 §4.4.3
    "DF_5GS": "3F00/7FF0/5FC0",  # TS 31.102 §4.4.11
    "ADF_ISIM": "3F00/7FF2",  # TS 31.103 §4.2; selected by its AID from EF_DIR
}
# the EF_UST services any one of which calls for a DF of ADF.USIM (TS 31.102 §4.4.3, §4.4.11)
DIRECTORY_SERVICES: dict[str, tuple[int, ...]] = {
    "DF_GSM_ACCESS": (27,),
    "DF_5GS": (122, 123, 124, 125, 126, 127, 129, 130),
}
# the service table an EF's ``service`` numbers refer to, per directory: EF_UST (TS 31.102 §4.2.8),
# EF_IST (TS 31.103 §4.2.7)
SERVICE_TABLES: dict[str, str] = {"ADF_USIM": "UST", "DF_GSM_ACCESS": "UST", "DF_5GS": "UST",
                                   "ADF_ISIM": "IST"}
FIXED = 0  # EF.max_size of a file whose size the spec fixes


@dataclass(frozen=True)
class EF:
    name: str
    fid: int
    parent: str
    structure: str  # "transparent" | "linear"
    size: int  # transparent: minimum file size; linear: record length
    read: str
    update: str
    encode: Callable[[Any, int], bytes]
    decode: Callable[[bytes], Any]
    spec: str
    sfi: int | None = None
    link: str | None = None  # "ADF_USIM/EF_IMSI": shares the storage of that EF, as real cards link them
    vectors: tuple[tuple[str, Any], ...] = ()
    # services (of the table SERVICE_TABLES names) any one of which calls for the file (empty:
    # mandatory); with ``all_services`` every one of them is needed (EF_EHPLMNPI: 71 and 73)
    service: tuple[int, ...] = ()
    all_services: bool = False
    max_size: int | None = FIXED  # largest size (record length) the spec allows; None: no bound

    @property
    def size_range(self) -> tuple[int, int | None]:
        """Smallest and largest file size (record length for a linear EF) the spec allows."""
        return self.size, self.size if self.max_size == FIXED else self.max_size

    def called_for(self, services: set[int] | list[int]) -> bool:
        """Whether a card whose EF_UST holds ``services`` carries this file (TS 31.102 §4.2.8)."""
        if not self.service:
            return True
        hits = [s in services for s in self.service]
        return all(hits) if self.all_services else any(hits)

    @property
    def path(self) -> str:
        return f"{DIRECTORIES[self.parent]}/{self.fid:04X}"

    @property
    def key(self) -> str:
        return f"{self.parent}/{self.name}"


def _fixed(value: bytes, size: int) -> bytes:
    if len(value) > size:
        raise ValueError(f"{len(value)} bytes do not fit in {size}")
    return value + b"\xff" * (size - len(value))


def raw_encode(value: str, size: int) -> bytes:
    return _fixed(bytes.fromhex(value), size)


def raw_decode(data: bytes) -> str:
    return data.hex().upper()


# TS 51.011 §10.5.3: status byte of an EF_SMS record
SMS_STATUS = {0x00: "free", 0x01: "received_read", 0x03: "received_unread", 0x05: "sent", 0x07: "to_be_sent"}


def _encode_sms(value: dict[str, Any], size: int) -> bytes:
    code = next(c for c, name in SMS_STATUS.items() if name == value["status"])
    return bytes([code]) + _fixed(bytes.fromhex(value["tpdu"] or ""), size - 1)


def _decode_sms(data: bytes) -> dict[str, Any]:
    body = data[1:].rstrip(b"\xff")
    return {"status": SMS_STATUS.get(data[0], f"{data[0]:02X}"), "tpdu": body.hex().upper() or None}


def _encode_number(value: dict[str, Any] | None, size: int) -> bytes:
    if value is None:
        return b"\xff" * size
    return enc.encode_msisdn(value["number"], value.get("alpha", ""), size, value.get("ton"),
                             value.get("npi", "isdn"))


def _encode_spn(value: dict[str, Any], size: int) -> bytes:
    return enc.encode_spn(value["name"], value["display_plmn_on_home"],
       value["display_spn_when_roaming"], size,
                          value.get("ucs2", False))


_NO_5GS_LOCI = {"guti": None, "plmn": None, "tac": 0xFFFFFE, "status": "not_updated"}
_NO_5GS_LOCI_HEX = "FF" * 16 + "FFFFFE01"
_LOCI_EMPTY = {"tmsi": None, "plmn": "262-02", "lac": 0, "rfu": 0xFF, "status": "not_updated"}

_EF_LIST: list[EF] = [
    # ---------------------------------------------------------------- MF, TS 102 221 §13
    EF("EF_DIR", 0x2F00, "MF", "linear", 38, ALW, ADM1,
       lambda v, n: (b"\xff" * n if v is None
                     else enc.encode_dir_record(bytes.fromhex(v["aid"]), v["label"], n, v.get("other", ""))),
       enc.decode_dir_record, "TS 102 221 §13.1", sfi=0x1E,
       vectors=(("61184F10A0000000871002FFFFFFFF89070900005004555349" + "4D" + "FF" * 12,
                 {"aid": "A0000000871002FFFFFFFF8907090000", "label": "USIM"}),
                ("FF" * 38, None))),
    EF("EF_ICCID", 0x2FE2, "MF", "transparent", 10, ALW, NEV,
       lambda v, n: _fixed(enc.encode_iccid(v), n), enc.decode_iccid, "TS 102 221 §13.2", sfi=0x02,
       vectors=(("988812010000400310F0", "8988211000000430010"),
                ("983310000000000010F0", "8933010000000000010"))),
    EF("EF_PL", 0x2F05, "MF", "transparent", 4, ALW, PIN1,
       enc.encode_languages, enc.decode_languages, "TS 102 221 §13.5", max_size=None, sfi=0x05,
       vectors=(("6672656E", ["fr", "en"]), ("6465FFFF", ["de"]))),
    EF("EF_ARR", 0x2F06, "MF", "linear", 40, ALW, ADM1,
       enc.encode_arr_rule, enc.decode_arr_rule, "TS 102 221 §13.4, §9.2.4", sfi=0x06,
       vectors=(("800101A40683010195010880010290 00".replace(" ", "") + "FF" * 24,
                 [{"ops": ["read"], "condition": "PIN1"}, {"ops": ["update"], "condition": "ALW"}]),
                ("80011AA40683010A950108" + "FF" * 29,
                 [{"ops": ["update", "deactivate", "activate"], "condition": "ADM1"}]))),
    # ---------------------------------------------------------------- DF_TELECOM, TS 51.011 §10.5
    EF("EF_ADN", 0x6F3A, "DF_TELECOM", "linear", 28, PIN1, PIN1,
       _encode_number, enc.decode_msisdn,
       "TS 51.011 §10.5.1",
       vectors=(("4F7267FFFFFFFFFFFFFFFFFFFFFF07913316325476F8FFFFFFFFFFFF",
                 {"alpha": "Org", "number": "+33612345678", "ton": "international", "npi": "isdn"}),)),
    EF("EF_SMS", 0x6F3C, "DF_TELECOM", "linear", 176, PIN1, PIN1,
       _encode_sms, _decode_sms, "TS 51.011 §10.5.3",
       vectors=(("00" + "FF" * 175, {"status": "free", "tpdu": None}),
                ("03" + "0791" + "FF" * 173, {"status": "received_unread", "tpdu": "0791"}))),
    EF("EF_MSISDN", 0x6F40, "DF_TELECOM", "linear", 28, PIN1, PIN1,
       _encode_number, enc.decode_msisdn,
       "TS 51.011 §10.5.5", link="ADF_USIM/EF_MSISDN",
       vectors=(("FF" * 14 + "07913316325476F8FFFFFFFFFFFF",
                 {"alpha": "", "number": "+33612345678", "ton": "international", "npi": "isdn"}),)),
    EF("EF_SMSP", 0x6F42, "DF_TELECOM", "linear", 28, PIN1, PIN1,
       raw_encode, raw_decode, "TS 51.011 §10.5.6", max_size=None,
       vectors=(("E1FFFFFFFFFFFFFFFFFFFFFFFF0891945197109099F9FFFFFF0000A9",
                 "E1FFFFFFFFFFFFFFFFFFFFFFFF0891945197109099F9FFFFFF0000A9"),)),
    EF("EF_SMSS", 0x6F43, "DF_TELECOM", "transparent", 2, PIN1, PIN1,
       raw_encode, raw_decode, "TS 51.011 §10.5.7", max_size=None, vectors=(("00FF", "00FF"),)),
    # ---------------------------------------------------------------- ADF_USIM, TS 31.102 §4.2
    EF("EF_LI", 0x6F05, "ADF_USIM", "transparent", 4, ALW, PIN1,
       enc.encode_languages, enc.decode_languages, "TS 31.102 §4.2.1", max_size=None, sfi=0x02,
       vectors=(("6672FFFF", ["fr"]),)),
    EF("EF_ARR", 0x6F06, "ADF_USIM", "linear", 40, ALW, ADM1,
       enc.encode_arr_rule, enc.decode_arr_rule, "TS 31.102 §4.2.57", sfi=0x17,
       vectors=(("8001019000800102970080011AA40683010A950108" + "FF" * 19,
                 [{"ops": ["read"], "condition": "ALW"}, {"ops": ["update"], "condition": "NEV"},
                  {"ops": ["update", "deactivate", "activate"], "condition": "ADM1"}]),)),
    EF("EF_IMSI", 0x6F07, "ADF_USIM", "transparent", 9, PIN1, ADM1,
       lambda v, n: _fixed(enc.encode_imsi(v), n), enc.decode_imsi, "TS 31.102 §4.2.2", sfi=0x07,
       vectors=(("082982608200002080", "228062800000208"), ("082980102143658709", "208011234567890"),
                ("0821801021436587F9", "20801123456789"))),
    EF("EF_KEYS", 0x6F08, "ADF_USIM", "transparent", 33, PIN1, PIN1,
       lambda v, n: enc.encode_keys(v), enc.decode_keys, "TS 31.102 §4.2.9", sfi=0x08,
       vectors=(("07" + "FF" * 32, {"ksi": 7, "ck": None, "ik": None}),
                ("02" + "B40BA9A3C58B2A05BBF0D987B21BF8CB" + "F769BCD751044604127672711C6D3441",
                 {"ksi": 2, "ck": "B40BA9A3C58B2A05BBF0D987B21BF8CB",
                  "ik": "F769BCD751044604127672711C6D3441"}))),
    EF("EF_KEYSPS", 0x6F09, "ADF_USIM", "transparent", 33, PIN1, PIN1,
       lambda v, n: enc.encode_keys(v), enc.decode_keys, "TS 31.102 §4.2.10", sfi=0x09,
       vectors=(("07" + "FF" * 32, {"ksi": 7, "ck": None, "ik": None}),)),
    EF("EF_PLMNwAcT", 0x6F60, "ADF_USIM", "transparent", 40, PIN1, PIN1,
       lambda v, n: enc.encode_plmn_act_list(v, n // 5), enc.decode_plmn_act_list, "TS 31.102 §4.2.5",
       service=(20,), max_size=None,
       sfi=0x0A,
       vectors=(("62F2104000" + "FFFFFF0000" * 7, [{"plmn": "262-01", "act": ["eutran"]}]),
                ("02F8104800" + "02F6108084", [{"plmn": "208-01", "act": ["ngran", "eutran"]},
                                               {"plmn": "206-01", "act": ["utran", "gsm"]}]))),
    EF("EF_HPPLMN", 0x6F31, "ADF_USIM", "transparent", 1, PIN1, ADM1,
       lambda v, n: enc.encode_hpplmn(v["minutes"]), enc.decode_hpplmn, "TS 31.102 §4.2.6", sfi=0x12,
       vectors=(("0A", {"minutes": 60}), ("00", {"minutes": 0}))),
    EF("EF_UST", 0x6F38, "ADF_USIM", "transparent", 17, PIN1, ADM1,
       enc.encode_service_table, enc.decode_service_table, "TS 31.102 §4.2.8", max_size=17, sfi=0x04,
       vectors=(("0A", [2, 4]), ("0204", [2, 11]), ("00000000000000000000000000000000" + "80", [136]))),
    EF("EF_MSISDN", 0x6F40, "ADF_USIM", "linear", 28, PIN1, PIN1,
       _encode_number, enc.decode_msisdn,
       "TS 31.102 §4.2.26", service=(21,), max_size=None,
       vectors=(("FF" * 14 + "07913316325476F8FFFFFFFFFFFF",
                 {"alpha": "", "number": "+33612345678", "ton": "international", "npi": "isdn"}),
                ("FF" * 14 + "0891947172199181F3FFFFFFFFFF",
                 {"alpha": "", "number": "+4917279119183", "ton": "international", "npi": "isdn"}),
                ("FF" * 28, None))),
    EF("EF_SPN", 0x6F46, "ADF_USIM", "transparent", 17, ALW, ADM1,
       _encode_spn,
       enc.decode_spn, "TS 31.102 §4.2.12", service=(19,),
       vectors=(("014F72616E67652046" + "FF" * 8,
                 {"name": "Orange F", "display_plmn_on_home": True, "display_spn_when_roaming": True}),
                ("0147534D2D52204348" + "FF" * 8,
                 {"name": "GSM-R CH", "display_plmn_on_home": True, "display_spn_when_roaming": True}),
                ("02426F7579677565732054656C" + "FF" * 4,
                 {"name": "Bouygues Tel", "display_plmn_on_home": False,
                  "display_spn_when_roaming": False}))),
    EF("EF_EST", 0x6F56, "ADF_USIM", "transparent", 1, PIN1, PIN2,
       enc.encode_service_table, enc.decode_service_table, "TS 31.102 §4.2.47", service=(2, 6, 34, 35),
       max_size=None, sfi=0x05,
       vectors=(("04", [3]), ("00", []))),
    EF("EF_ACL", 0x6F57, "ADF_USIM", "transparent", 32, PIN1, PIN2,
       enc.encode_acl, enc.decode_acl, "TS 31.102 §4.2.48", service=(35,), max_size=None,
       vectors=(("02DD0908696E7465726E6574DD0A066F72616E6765026672" + "FF" * 8, ["internet", "orange.fr"]),
                ("01DD00" + "FF" * 29, [""]), ("00" + "FF" * 31, []))),
    EF("EF_OPLMNwAcT", 0x6F61, "ADF_USIM", "transparent", 40, PIN1, ADM1,
       lambda v, n: enc.encode_plmn_act_list(v, n // 5), enc.decode_plmn_act_list, "TS 31.102 §4.2.53",
       service=(42,), max_size=None,
       sfi=0x11,
       vectors=(("02F6104000" + "130062C000" + "FFFFFF0000" * 6,
                 [{"plmn": "206-01", "act": ["eutran"]}, {"plmn": "310-260", "act": ["eutran", "utran"]}]),)),
    EF("EF_HPLMNwAcT", 0x6F62, "ADF_USIM", "transparent", 5, PIN1, ADM1,
       lambda v, n: enc.encode_plmn_act_list(v, n // 5), enc.decode_plmn_act_list, "TS 31.102 §4.2.54",
       service=(43,), max_size=None,
       sfi=0x13,
       vectors=(("02F810C884", [{"plmn": "208-01", "act": ["ngran", "eutran", "utran", "gsm"]}]),)),
    EF("EF_PSLOCI", 0x6F73, "ADF_USIM", "transparent", 14, PIN1, PIN1,
       lambda v, n: enc.encode_psloci(v), enc.decode_psloci, "TS 31.102 §4.2.23", sfi=0x0C,
       vectors=(("D4A3B1C2" + "1A2B3C" + "02F810" + "0A0B" + "05" + "00",
                 {"ptmsi": "D4A3B1C2", "ptmsi_signature": "1A2B3C", "plmn": "208-01", "lac": 0x0A0B,
                  "rac": 5, "status": "updated"}),
                ("FFFFFFFF" + "FFFFFF" + "FFFFFF" + "FFFE" + "FF" + "01",
                 {"ptmsi": None, "ptmsi_signature": None, "plmn": None, "lac": 0xFFFE, "rac": 0xFF,
                  "status": "not_updated"}))),
    EF("EF_ACC", 0x6F78, "ADF_USIM", "transparent", 2, PIN1, ADM1,
       lambda v, n: enc.encode_acc(v), enc.decode_acc, "TS 31.102 §4.2.15", sfi=0x06,
       vectors=(("0008", [3]), ("0201", [0, 9]), ("F800", [11, 12, 13, 14, 15]))),
    EF("EF_FPLMN", 0x6F7B, "ADF_USIM", "transparent", 12, PIN1, PIN1,
       lambda v, n: enc.encode_plmn_list(v, n // 3), enc.decode_plmn_list, "TS 31.102 §4.2.16",
       max_size=None, sfi=0x0D,
       vectors=(("42F618" + "02F801" + "FFFFFF" * 2, ["246-81", "208-10"]),
                ("FFFFFF" + "02F851" + "FFFFFF" * 2, [None, "208-15"]))),
    EF("EF_LOCI", 0x6F7E, "ADF_USIM", "transparent", 11, PIN1, PIN1,
       lambda v, n: enc.encode_loci(v), enc.decode_loci, "TS 31.102 §4.2.17", sfi=0x0B,
       vectors=(("47D1264A62F21037211E00",
                 {"tmsi": "47D1264A", "plmn": "262-01", "lac": 0x3721, "rfu": 0x1E, "status": "updated"}),
                ("FFFFFFFF62F2200000FF01", _LOCI_EMPTY))),
    EF("EF_AD", 0x6FAD, "ADF_USIM", "transparent", 4, ALW, ADM1,
       enc.encode_ad,
       enc.decode_ad, "TS 31.102 §4.2.18", max_size=None, sfi=0x03,
       vectors=(("00000002", {"ue_mode": "normal", "ciphering_indicator": False, "mnc_length": 2}),
                ("80000103", {"ue_mode": "type_approval", "ciphering_indicator": True, "mnc_length": 3}))),
    EF("EF_EHPLMN", 0x6FD9, "ADF_USIM", "transparent", 12, PIN1, ADM1,
       lambda v, n: enc.encode_plmn_list(v, n // 3), enc.decode_plmn_list, "TS 31.102 §4.2.84",
       service=(71,), max_size=None, sfi=0x1D,
       vectors=(("02F810" + "02F820" + "FFFFFF" * 2, ["208-01", "208-02"]),)),
    EF("EF_EHPLMNPI", 0x6FDB, "ADF_USIM", "transparent", 1, PIN1, ADM1,
       lambda v, n: enc.encode_ehplmnpi(v), enc.decode_ehplmnpi, "TS 31.102 §4.2.85", service=(71, 73),
       all_services=True,
       vectors=(("02", "all"), ("01", "highest"))),
    EF("EF_EPSLOCI", 0x6FE3, "ADF_USIM", "transparent", 18, PIN1, PIN1,
       lambda v, n: enc.encode_epsloci(v), enc.decode_epsloci, "TS 31.102 §4.2.91", service=(85,), sfi=0x1E,
       vectors=(("02F810" + "8001" + "01" + "C0A1B2C3D4E5" + "02F810" + "1234" + "00",
                 {"guti": "02F810800101C0A1B2C3D4E5", "plmn": "208-01", "tac": 0x1234, "status": "updated"}),
                ("FF" * 12 + "FFFFFF" + "FFFE" + "01",
                 {"guti": None, "plmn": None, "tac": 0xFFFE, "status": "not_updated"}))),
    EF("EF_GID1", 0x6F3E, "ADF_USIM", "transparent", 1, PIN1, ADM1,
       raw_encode, raw_decode, "TS 31.102 §4.2.10", service=(17,), max_size=None,
       vectors=(("A1FF", "A1FF"),)),
    EF("EF_GID2", 0x6F3F, "ADF_USIM", "transparent", 1, PIN1, ADM1,
       raw_encode, raw_decode, "TS 31.102 §4.2.11", service=(18,), max_size=None,
       vectors=(("FFFF", "FFFF"),)),
    EF("EF_ECC", 0x6FB7, "ADF_USIM", "linear", 4, ALW, ADM1,
       enc.encode_ecc_record, enc.decode_ecc_record, "TS 31.102 §4.2.21", sfi=0x01, max_size=None,
       vectors=(("19F1FF01", {"code": "911", "alpha": "", "categories": ["police"]}),
                ("11F2FF" + "506F6C696365FFFFFFFF" + "01",
                 {"code": "112", "alpha": "Police", "categories": ["police"]}),
                ("FF" * 14, None))),
    EF("EF_FDN", 0x6F3B, "ADF_USIM", "linear", 28, PIN1, PIN2,
       _encode_number, enc.decode_msisdn, "TS 31.102 §4.2.24", service=(2, 89), max_size=None,
       vectors=(("FF" * 28, None),)),
    EF("EF_SMSP", 0x6F42, "ADF_USIM", "linear", 28, PIN1, PIN1,
       raw_encode, raw_decode, "TS 31.102 §4.2.27", service=(12,), max_size=None,
       link="DF_TELECOM/EF_SMSP", vectors=(("FD" + "FF" * 27, "FD" + "FF" * 27),)),
    EF("EF_SMSS", 0x6F43, "ADF_USIM", "transparent", 2, PIN1, PIN1,
       raw_encode, raw_decode, "TS 31.102 §4.2.28", service=(10,), max_size=None,
       link="DF_TELECOM/EF_SMSS", vectors=(("00FF", "00FF"),)),
    EF("EF_START_HFN", 0x6F5B, "ADF_USIM", "transparent", 6, PIN1, PIN1,
       lambda v, n: enc.encode_start_hfn(v), enc.decode_start_hfn, "TS 31.102 §4.2.51", sfi=0x0F,
       vectors=(("F00000F00000", {"start_cs": 0xF00000, "start_ps": 0xF00000}),)),
    EF("EF_THRESHOLD", 0x6F5C, "ADF_USIM", "transparent", 3, PIN1, ADM1,
       lambda v, n: enc.encode_threshold(v), enc.decode_threshold, "TS 31.102 §4.2.52", sfi=0x10,
       vectors=(("F01000", {"max_start": 0xF01000}),)),
    EF("EF_NETPAR", 0x6FC4, "ADF_USIM", "transparent", 16, PIN1, PIN1,
       raw_encode, raw_decode, "TS 31.102 §4.2 (EF_NETPAR)", max_size=None,
       vectors=(("FF" * 16, "FF" * 16),)),
    EF("EF_PNN", 0x6FC5, "ADF_USIM", "linear", 3, ALW, ADM1,
       enc.encode_pnn_record, enc.decode_pnn_record, "TS 31.102 §4.2.58", sfi=0x19, service=(45,),
       max_size=None, vectors=(("430A82D432BBBC7EB75DE432", {"full": "Telekom.de"}),
                               ("430A82C596B34CBFBFE5EB39FFFF", {"full": "E-Networks"}),
                               ("FF" * 14, None))),
    EF("EF_OPL", 0x6FC6, "ADF_USIM", "linear", 8, ALW, ADM1,
       enc.encode_opl_record, enc.decode_opl_record, "TS 31.102 §4.2.59", sfi=0x1A, service=(46,),
       max_size=None, vectors=(("62F2100000FFFE01", {"plmn": "262-01", "lac_min": 0, "lac_max": 0xFFFE,
                                                      "pnn_record": 1}),
                               # 'D' digits: any Spanish network 214-00 to 214-09 (§4.2.59)
                               ("12F4D00000FFFE03", {"plmn": "214-0D", "lac_min": 0, "lac_max": 0xFFFE,
                                                     "pnn_record": 3}),
                               ("FF" * 8, None))),
    EF("EF_SPDI", 0x6FCD, "ADF_USIM", "transparent", 1, ALW, ADM1,
       enc.encode_spdi, enc.decode_spdi, "TS 31.102 §4.2.66", sfi=0x1B, service=(51,), max_size=None,
       vectors=(("A305800337F800FFFF", ["738-00"]), ("A308800602F81002F820", ["208-01", "208-02"]))),
    EF("EF_EPSNSC", 0x6FE4, "ADF_USIM", "linear", 54, PIN1, PIN1,
       raw_encode, raw_decode, "TS 31.102 §4.2.92", sfi=0x18, service=(85,), max_size=128,
       vectors=(("FF" * 54, "FF" * 54),)),
    # ---------------------------------------------------------------- DF_GSM_ACCESS, TS 31.102 §4.4.3
    EF("EF_Kc", 0x4F20, "DF_GSM_ACCESS", "transparent", 9, PIN1, PIN1,
       lambda v, n: enc.encode_kc(v), enc.decode_kc, "TS 31.102 §4.4.3.1", sfi=0x01, service=(27,),
       vectors=(("837D783609A3858F05", {"kc": "837D783609A3858F", "cksn": 5}),)),
    EF("EF_KcGPRS", 0x4F52, "DF_GSM_ACCESS", "transparent", 9, PIN1, PIN1,
       lambda v, n: enc.encode_kc(v), enc.decode_kc, "TS 31.102 §4.4.3.2", sfi=0x02, service=(27,),
       vectors=(("FFFFFFFFFFFFFFFF07", {"kc": None, "cksn": 7}),)),
    # ---------------------------------------------------------------- DF_5GS, TS 31.102 §4.4.11
    EF("EF_5GS3GPPLOCI", 0x4F01, "DF_5GS", "transparent", 20, PIN1, PIN1,
       lambda v, n: enc.encode_5gs_loci(v), enc.decode_5gs_loci, "TS 31.102 §4.4.11.2", sfi=0x01,
       service=(122,), vectors=((_NO_5GS_LOCI_HEX, _NO_5GS_LOCI),)),
    EF("EF_5GSN3GPPLOCI", 0x4F02, "DF_5GS", "transparent", 20, PIN1, PIN1,
       lambda v, n: enc.encode_5gs_loci(v), enc.decode_5gs_loci, "TS 31.102 §4.4.11.3", sfi=0x02,
       service=(122,), vectors=((_NO_5GS_LOCI_HEX, _NO_5GS_LOCI),)),
    EF("EF_5GS3GPPNSC", 0x4F03, "DF_5GS", "linear", 57, PIN1, PIN1,
       raw_encode, raw_decode, "TS 31.102 §4.4.11.4", sfi=0x03, service=(122,), max_size=None,
       vectors=(("FF" * 57, "FF" * 57),)),
    EF("EF_5GSN3GPPNSC", 0x4F04, "DF_5GS", "linear", 57, PIN1, PIN1,
       raw_encode, raw_decode, "TS 31.102 §4.4.11.5", sfi=0x04, service=(122,), max_size=None,
       vectors=(("FF" * 57, "FF" * 57),)),
    EF("EF_5GAUTHKEYS", 0x4F05, "DF_5GS", "transparent", 68, PIN1, PIN1,
       raw_encode, raw_decode, "TS 31.102 §4.4.11.6", sfi=0x05, service=(123,), max_size=None,
       vectors=(("FF" * 68, "FF" * 68),)),
    EF("EF_UAC_AIC", 0x4F06, "DF_5GS", "transparent", 4, PIN1, ADM1,
       raw_encode, raw_decode, "TS 31.102 §4.4.11.7", sfi=0x06, service=(126,),
       vectors=(("00000003", "00000003"),)),
    EF("EF_SUCI_Calc_Info", 0x4F07, "DF_5GS", "transparent", 4, PIN1, ADM1,
       enc.encode_suci_calc_info, enc.decode_suci_calc_info, "TS 31.102 §4.4.11.8", sfi=0x07,
       service=(124,), max_size=None,
       vectors=(("A0020000", {"prot_scheme_id_list": [{"priority": 0, "identifier": 0, "key_index": 0}],
                              "hnet_pubkey_list": []}),)),
    EF("EF_OPL5G", 0x4F08, "DF_5GS", "linear", 10, ALW, ADM1,
       enc.encode_opl5g_record, enc.decode_opl5g_record, "TS 31.102 §4.4.11.9", sfi=0x08, service=(129,),
       max_size=None,
       vectors=(("02F810000000FFFFFE01", {"plmn": "208-01", "tac_min": 0, "tac_max": 0xFFFFFE,
                                          "pnn_record": 1}),
                ("02F81000100100100104FF", {"plmn": "208-01", "tac_min": 0x1001, "tac_max": 0x1001,
                                            "pnn_record": 4}),
                ("12F4D0000000FFFFFE03", {"plmn": "214-0D", "tac_min": 0, "tac_max": 0xFFFFFE,
                                          "pnn_record": 3}),
                ("FF" * 10, None))),
    EF("EF_Routing_Indicator", 0x4F0A, "DF_5GS", "transparent", 4, PIN1, ADM1,
       raw_encode, raw_decode, "TS 31.102 §4.4.11.11", sfi=0x0A, service=(124,),
       vectors=(("F0FFFFFF", "F0FFFFFF"),)),
    # ---------------------------------------------------------------- ADF_ISIM, TS 31.103 §4.2
    EF("EF_IMPI", 0x6F02, "ADF_ISIM", "transparent", 3, PIN1, ADM1,
       enc.encode_ims_text, enc.decode_ims_text, "TS 31.103 §4.2.2", sfi=0x02, max_size=None,
       vectors=(("803137333830303630303030303031303140696D732E6D6E633030302E6D63633733382E336770706E6574776F726B2E"
                 "6F7267", "738006000000101@ims.mnc000.mcc738.3gppnetwork.org"),)),
    EF("EF_DOMAIN", 0x6F03, "ADF_ISIM", "transparent", 3, PIN1, ADM1,
       enc.encode_ims_text, enc.decode_ims_text, "TS 31.103 §4.2.3", sfi=0x05, max_size=None,
       vectors=(("8021696D732E6D6E633030302E6D63633733382E336770706E6574776F726B2E6F7267",
                 "ims.mnc000.mcc738.3gppnetwork.org"),)),
    EF("EF_IMPU", 0x6F04, "ADF_ISIM", "linear", 3, PIN1, ADM1,
       lambda v, n: b"\xff" * n if v is None else enc.encode_ims_text(v, n), enc.decode_ims_text,
       "TS 31.103 §4.2.4", sfi=0x04, max_size=None,
       vectors=(("80357369703A37333830303630303030303031303140696D732E6D6E633030302E6D63633733382E336770706E65"
                 "74776F726B2E6F7267", "sip:738006000000101@ims.mnc000.mcc738.3gppnetwork.org"),
                ("FF" * 8, None))),
    EF("EF_AD", 0x6FAD, "ADF_ISIM", "transparent", 3, ALW, ADM1,
       enc.encode_ad, enc.decode_ad, "TS 31.103 §4.2.5", sfi=0x03, max_size=None,
       vectors=(("000000", {"ue_mode": "normal", "ciphering_indicator": False, "mnc_length": None}),)),
    EF("EF_ARR", 0x6F06, "ADF_ISIM", "linear", 40, ALW, ADM1,
       enc.encode_arr_rule, enc.decode_arr_rule, "TS 31.103 §4.2.6", sfi=0x06,
       vectors=(("8001019000800102970080011AA40683010A950108" + "FF" * 19,
                 [{"ops": ["read"], "condition": "ALW"}, {"ops": ["update"], "condition": "NEV"},
                  {"ops": ["update", "deactivate", "activate"], "condition": "ADM1"}]),)),
    EF("EF_IST", 0x6F07, "ADF_ISIM", "transparent", 1, PIN1, ADM1,
       enc.encode_service_table, enc.decode_service_table, "TS 31.103 §4.2.7", sfi=0x07, max_size=None,
       vectors=(("01", [1]), ("11", [1, 5]))),
    EF("EF_PCSCF", 0x6F09, "ADF_ISIM", "linear", 3, PIN1, ADM1,
       enc.encode_pcscf, enc.decode_pcscf, "TS 31.103 §4.2.8", service=(1, 5), max_size=None,
       vectors=(("802C0070637363662E696D732E6D6E633030302E6D63633733382E7075622E336770706E6574776F726B2E6F7267",
                 {"address": "pcscf.ims.mnc000.mcc738.pub.3gppnetwork.org", "type": "fqdn"}),
                ("800501C0A80C22", {"address": "192.168.12.34", "type": "ipv4"}),
                ("801102FE800000000000000042D7FFFE530335",
                 {"address": "fe80::42:d7ff:fe53:335", "type": "ipv6"}))),
    # ---------------------------------------------------------------- DF_GSM, TS 51.011 §10.3
    EF("EF_LP", 0x6F05, "DF_GSM", "transparent", 2, ALW, PIN1,
       enc.encode_lp, enc.decode_lp, "TS 51.011 §10.3.1", max_size=None,
       vectors=(("01FF", ["en"]), ("0301", ["fr", "en"]), ("24", ["24"]))),
    EF("EF_IMSI", 0x6F07, "DF_GSM", "transparent", 9, PIN1, ADM1,
       lambda v, n: _fixed(enc.encode_imsi(v), n), enc.decode_imsi, "TS 51.011 §10.3.2",
       link="ADF_USIM/EF_IMSI", vectors=(("082980102143658709", "208011234567890"),)),
    EF("EF_Kc", 0x6F20, "DF_GSM", "transparent", 9, PIN1, PIN1,
       lambda v, n: enc.encode_kc(v), enc.decode_kc, "TS 51.011 §10.3.3",
       vectors=(("FFFFFFFFFFFFFFFF07", {"kc": None, "cksn": 7}),
                ("EAE4BE823AF9A08B01", {"kc": "EAE4BE823AF9A08B", "cksn": 1}))),
    EF("EF_PLMNsel", 0x6F30, "DF_GSM", "transparent", 24, PIN1, PIN1,
       lambda v, n: enc.encode_plmn_list(v, n // 3), enc.decode_plmn_list, "TS 51.011 §10.3.4", max_size=None,
       vectors=(("02F610" + "62F210" + "FFFFFF" * 6, ["206-01", "262-01"]),)),
    EF("EF_HPPLMN", 0x6F31, "DF_GSM", "transparent", 1, PIN1, ADM1,
       lambda v, n: enc.encode_hpplmn(v["minutes"]), enc.decode_hpplmn, "TS 51.011 §10.3.5",
       link="ADF_USIM/EF_HPPLMN", vectors=(("05", {"minutes": 30}),)),
    EF("EF_SST", 0x6F38, "DF_GSM", "transparent", 2, PIN1, ADM1,
       enc.encode_sst, enc.decode_sst, "TS 51.011 §10.3.7", max_size=None,
       vectors=(("0F03", [1, 2, 5]), ("FF3F", [1, 2, 3, 4, 5, 6, 7]))),
    EF("EF_SPN", 0x6F46, "DF_GSM", "transparent", 17, ALW, ADM1,
       _encode_spn,
       enc.decode_spn, "TS 51.011 §10.3.11", link="ADF_USIM/EF_SPN",
       vectors=(("014F72616E6765" + "FF" * 10,
                 {"name": "Orange", "display_plmn_on_home": True, "display_spn_when_roaming": True}),)),
    EF("EF_KcGPRS", 0x6F52, "DF_GSM", "transparent", 9, PIN1, PIN1,
       lambda v, n: enc.encode_kc(v), enc.decode_kc, "TS 51.011 §10.3.21",
       vectors=(("FFFFFFFFFFFFFFFF07", {"kc": None, "cksn": 7}),)),
    EF("EF_LOCIGPRS", 0x6F53, "DF_GSM", "transparent", 14, PIN1, PIN1,
       lambda v, n: enc.encode_psloci(v), enc.decode_psloci, "TS 51.011 §10.3.33", link="ADF_USIM/EF_PSLOCI",
       vectors=(("FFFFFFFF" + "FFFFFF" + "02F810" + "0001" + "00" + "01",
                 {"ptmsi": None, "ptmsi_signature": None, "plmn": "208-01", "lac": 1, "rac": 0,
                  "status": "not_updated"}),)),
    EF("EF_PLMNwAcT", 0x6F60, "DF_GSM", "transparent", 40, PIN1, PIN1,
       lambda v, n: enc.encode_plmn_act_list(v, n // 5), enc.decode_plmn_act_list, "TS 51.011 §10.3.35",
       max_size=None,
       link="ADF_USIM/EF_PLMNwAcT", vectors=(("62F2104000" + "FFFFFF0000" * 7, [{"plmn": "262-01",
                                                                                "act": ["eutran"]}]),)),
    EF("EF_OPLMNwAcT", 0x6F61, "DF_GSM", "transparent", 40, PIN1, ADM1,
       lambda v, n: enc.encode_plmn_act_list(v, n // 5), enc.decode_plmn_act_list, "TS 51.011 §10.3.36",
       max_size=None,
       link="ADF_USIM/EF_OPLMNwAcT", vectors=(("02F6100084" + "FFFFFF0000" * 7, [{"plmn": "206-01",
                                                                                  "act": ["gsm"]}]),)),
    EF("EF_HPLMNwAcT", 0x6F62, "DF_GSM", "transparent", 5, PIN1, ADM1,
       lambda v, n: enc.encode_plmn_act_list(v, n // 5), enc.decode_plmn_act_list, "TS 51.011 §10.3.37",
       max_size=None,
       link="ADF_USIM/EF_HPLMNwAcT", vectors=(("02F8028084", [{"plmn": "208-20",
                                                                "act": ["utran", "gsm"]}]),)),
    EF("EF_ACC", 0x6F78, "DF_GSM", "transparent", 2, PIN1, ADM1,
       lambda v, n: enc.encode_acc(v), enc.decode_acc, "TS 51.011 §10.3.15", link="ADF_USIM/EF_ACC",
       vectors=(("0004", [2]),)),
    EF("EF_FPLMN", 0x6F7B, "DF_GSM", "transparent", 12, PIN1, PIN1,
       lambda v, n: enc.encode_plmn_list(v, n // 3), enc.decode_plmn_list, "TS 51.011 §10.3.16",
       max_size=None,
       link="ADF_USIM/EF_FPLMN", vectors=(("02F801" + "FFFFFF" * 3, ["208-10"]),)),
    EF("EF_LOCI", 0x6F7E, "DF_GSM", "transparent", 11, PIN1, PIN1,
       lambda v, n: enc.encode_loci(v), enc.decode_loci, "TS 51.011 §10.3.17", link="ADF_USIM/EF_LOCI",
       vectors=(("FFFFFFFF62F2200000FF01", _LOCI_EMPTY),)),
    EF("EF_AD", 0x6FAD, "DF_GSM", "transparent", 4, ALW, ADM1,
       enc.encode_ad,
       enc.decode_ad, "TS 51.011 §10.3.18", max_size=None, link="ADF_USIM/EF_AD",
       vectors=(("00000003", {"ue_mode": "normal", "ciphering_indicator": False, "mnc_length": 3}),)),
    EF("EF_Phase", 0x6FAE, "DF_GSM", "transparent", 1, ALW, ADM1,
       lambda v, n: enc.encode_phase(v), enc.decode_phase, "TS 51.011 §10.3.19",
       vectors=(("03", "phase2+"), ("02", "phase2"))),
    EF("EF_ECC", 0x6FB7, "DF_GSM", "transparent", 3, ALW, ADM1,
       enc.encode_gsm_ecc, enc.decode_gsm_ecc, "TS 51.011 §10.3.27", max_size=15,
       vectors=(("11F2FF19F1FF" + "FF" * 9, ["112", "911"]), ("FF" * 15, []))),
]

EFS: dict[str, EF] = {ef.key: ef for ef in _EF_LIST}
BY_PATH: dict[str, EF] = {ef.path: ef for ef in _EF_LIST}

if len(EFS) != len(_EF_LIST) or len(BY_PATH) != len(_EF_LIST):
    raise RuntimeError("duplicate EF declaration")


def all_efs() -> list[EF]:
    """Every declared EF, in declaration order (MF, DF_TELECOM, ADF_USIM, DF_GSM)."""
    return list(_EF_LIST)


def get(key: str) -> EF:
    """The EF ``"ADF_USIM/EF_IMSI"``; raises ``KeyError`` with the known keys."""
    try:
        return EFS[key]
    except KeyError:
        raise KeyError(f"unknown EF {key!r}") from None


def by_path(path: str) -> EF | None:
    """The EF at ``"3F00/7FF0/6F07"`` (case-insensitive hex), or ``None``."""
    return BY_PATH.get(path.upper())


def path_of(key: str) -> str:
    return get(key).path


def decode(ef: EF, data: bytes | list[bytes]) -> Any:
    """Decoded contents: one value for a transparent EF, a list (one per record) otherwise."""
    if ef.structure == "transparent":
        return ef.decode(data)  # type: ignore[arg-type]
    return [ef.decode(rec) for rec in data]

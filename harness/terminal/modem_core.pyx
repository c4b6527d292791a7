# cython: language_level=3, wraparound=True, boundscheck=True
"""The terminal's state and procedures, compiled (see :mod:`harness.terminal.modem` for what it does).

:class:`ModemCore` holds the radio, registration and toolkit state as typed attributes and runs
the USIM initialisation (TS 31.102 §5.1.1), the proactive session (TS 102 223 §6), PLMN
selection and registration (TS 23.122 §4.4.3) and the location reporting with C-level calls to
the link (:class:`harness.terminal.link.UiccLink`) and to the event log. :class:`harness.terminal.modem.Modem`
is the public class built on it.
"""

cimport cython

from harness.events cimport record_event
from harness.terminal.link cimport UiccLink

import random

from csim import encoding as enc
from csim import stk
from csim.memo import remember
from harness.terminal import plmn_selection as sel
from harness.events import EventLog
from harness.terminal.fcp import parse_fcp
from harness.network.mme import (
    AttachAccept,
    AttachReject,
    AttachRequest,
    AuthenticationFailure,
    AuthenticationReject,
    AuthenticationRequest,
    AuthenticationResponse,
    DetachRequest,
)
from harness.network.world import (
    CAUSE_NAMES,
    CAUSE_NO_SUITABLE_CELLS_IN_LA,
    CAUSE_PLMN_NOT_ALLOWED,
    CAUSE_ROAMING_NOT_ALLOWED_IN_LA,
    Cell,
    plmn_of_imsi,
)

USIM_AID_PREFIX = bytes.fromhex("A0000000871002")  # TS 101 220 Annex E: 3GPP RID + USIM app code

# file identifiers (TS 102 221 §13, TS 31.102 §4.2)
cdef enum:
    EF_DIR_ = 0x2F00
    EF_ICCID_ = 0x2FE2
    EF_IMSI_ = 0x6F07
    EF_AD_ = 0x6FAD
    EF_SPN_ = 0x6F46
    EF_UST_ = 0x6F38
    EF_PLMNWACT_ = 0x6F60
    EF_OPLMNWACT_ = 0x6F61
    EF_HPLMNWACT_ = 0x6F62
    EF_EHPLMN_ = 0x6FD9
    EF_FPLMN_ = 0x6F7B
    EF_LOCI_ = 0x6F7E
    EF_PSLOCI_ = 0x6F73
    EF_EPSLOCI_ = 0x6FE3
    EF_HPPLMN_ = 0x6F31
    EF_PNN_ = 0x6FC5
    EF_OPL_ = 0x6FC6
    EF_SPDI_ = 0x6FCD
EF_DIR, EF_ICCID = EF_DIR_, EF_ICCID_
EF_IMSI, EF_AD, EF_SPN, EF_UST = EF_IMSI_, EF_AD_, EF_SPN_, EF_UST_
EF_PLMNWACT, EF_OPLMNWACT, EF_HPLMNWACT, EF_EHPLMN = EF_PLMNWACT_, EF_OPLMNWACT_, EF_HPLMNWACT_, EF_EHPLMN_
EF_FPLMN, EF_LOCI, EF_PSLOCI, EF_EPSLOCI, EF_HPPLMN = EF_FPLMN_, EF_LOCI_, EF_PSLOCI_, EF_EPSLOCI_, EF_HPPLMN_

# services of EF_UST that gate optional files (TS 31.102 §4.2.8)
cdef int _SERVICE_PNN = 45
cdef int _SERVICE_OPL = 46
cdef int _SERVICE_SPDI = 51
cdef int _SERVICE_OPL5G = 129   # 5GS Operator PLMN List (DF.5GS/EF_OPL5G, TS 31.102 §4.4.11.9)
_SERVICE_OF = {EF_SPN: 19, EF_PLMNWACT: 20, EF_OPLMNWACT: 42, EF_HPLMNWACT: 43, EF_EHPLMN: 71,
               EF_EPSLOCI: 85}

#: the RATs a terminal supports by default
DEFAULT_RATS = ("2G", "3G", "4G", "5G")

# Access technology codes of TS 102 223 §8.62 (PROVIDE LOCAL INFORMATION, qualifier 06)
_ACCESS_TECHNOLOGY = {"2G": 0x00, "3G": 0x03, "4G": 0x08, "5G": 0x0A}

# xPLMNwAcT access technology names (csim.encoding) -> RATs
_ACT_RAT = {"gsm": "2G", "gsm_compact": "2G", "ec_gsm_iot": "2G", "utran": "3G", "eutran": "4G",
            "eutran_wb": "4G", "eutran_nb": "4G", "ngran": "5G"}

# key references (TS 102 221 §9.5.1) and the usage qualifier "use the universal PIN" (§9.5.2)
APPLICATION_PIN, UNIVERSAL_PIN = 0x01, 0x11
USE_UNIVERSAL_PIN = 0x08

#: causes after which the USIM is considered invalid until switch-off (TS 24.008 §4.4.4.7, 24.301 §5.5.1.2.5)
SIM_INVALID_CAUSES = frozenset({2, 3, 6, 8})

#: periodic retry of PLMN selection while out of normal service (T3211/T3402-like), seconds
RETRY_INTERVAL = 60.0
#: forbidden LAs for roaming are erased periodically, 12 to 24 hours (TS 24.008 §4.4.1)
FORBIDDEN_LA_LIFETIME = 12 * 3600.0

TERMINAL_FACILITIES = (
    "profile_download", "menu_selection", "command_result", "display_text", "more_time", "refresh",
    "set_up_menu", "provide_local_information", "set_up_event_list", "event_location_status",
    "event_access_technology_change", "provide_local_information_access_technology",
)

SERVICE_NORMAL, SERVICE_LIMITED, SERVICE_NONE = "normal", "limited", "none"
_LOCATION_STATUS = {SERVICE_NORMAL: stk.LocationStatus.NORMAL_SERVICE,
                    SERVICE_LIMITED: stk.LocationStatus.LIMITED_SERVICE,
                    SERVICE_NONE: stk.LocationStatus.NO_SERVICE}

# toolkit codes as C values (TS 102 223 §9.4, §8.6, §8.12)
cdef int CMD_SET_UP_EVENT_LIST = stk.Command.SET_UP_EVENT_LIST
cdef int CMD_SET_UP_MENU = stk.Command.SET_UP_MENU
cdef int CMD_PROVIDE_LOCAL_INFORMATION = stk.Command.PROVIDE_LOCAL_INFORMATION
cdef int CMD_REFRESH = stk.Command.REFRESH
cdef int CMD_DISPLAY_TEXT = stk.Command.DISPLAY_TEXT
cdef int CMD_MORE_TIME = stk.Command.MORE_TIME
cdef int INFO_LOCATION = stk.LocalInfo.LOCATION
cdef int INFO_IMEI = stk.LocalInfo.IMEI
cdef int INFO_ACCESS_TECHNOLOGY = stk.LocalInfo.ACCESS_TECHNOLOGY
cdef int REFRESH_UICC_RESET = stk.Refresh.UICC_RESET
cdef int REFRESH_FCN = stk.Refresh.FCN
cdef int REFRESH_STEERING_OF_ROAMING = stk.Refresh.STEERING_OF_ROAMING
cdef object R_SUCCESS = stk.Result.SUCCESS
cdef object R_LIMITED_SERVICE = stk.Result.LIMITED_SERVICE
cdef object R_TERMINAL_UNABLE = stk.Result.TERMINAL_UNABLE
cdef object R_BEYOND_CAPABILITIES = stk.Result.BEYOND_CAPABILITIES
cdef object R_DATA_NOT_UNDERSTOOD = stk.Result.DATA_NOT_UNDERSTOOD
cdef object EVENT_LOCATION_STATUS = stk.Event.LOCATION_STATUS
cdef bytes NO_SERVICE_ADDITIONAL = bytes([stk.UNABLE_NO_SERVICE])
cdef object TlvError = stk.TlvError

cdef str S_NORMAL = SERVICE_NORMAL
cdef str S_LIMITED = SERVICE_LIMITED
cdef str S_NONE = SERVICE_NONE
cdef double RETRY = RETRY_INTERVAL
cdef double LA_LIFETIME = FORBIDDEN_LA_LIFETIME


class ModemError(RuntimeError):
    """The terminal cannot do what was asked (card missing, no such menu item...)."""


#: a Usim field no file set (see :meth:`Usim.assign`)
cdef object _MISSING = object()


cdef dict _responses = {}


cdef bytes _terminal_response_apdu(bytes details, object result, tuple objs, bytes additional):
    """TERMINAL RESPONSE APDU (TS 102 221 §10.2.4): details, devices ME -> UICC, result, objects."""
    cdef int code = result  # the key holds the C value: hashing the enum member is a Python call
    key = (details, code, objs, additional)
    apdu = _responses.get(key)
    # kept (callgrind, bench/scenario_replay.py): responses built each time: 23.5 M Ir instead of 12.7 M
    if apdu is None:
        tr = stk.terminal_response(details, result, *objs, additional=additional)
        apdu = remember(_responses, key, bytes((0x80, 0x14, 0x00, 0x00, len(tr))) + tr)
    return apdu


@cython.final
cdef class Fetched:
    """A FETCHed proactive command (:class:`stk.ProactiveCommand`, TS 102 223 §6.6) and what the
    terminal takes from it: the event list of SET UP EVENT LIST (§6.6.16), the items and title of
    SET UP MENU (§6.6.7), the file list of REFRESH (§8.18) as paths and the FIDs they end with."""

    cdef readonly int type
    cdef readonly object qualifier
    cdef readonly bytes details
    cdef readonly frozenset events
    cdef readonly tuple menu
    cdef readonly tuple files

    def __init__(self, cmd):
        self.type = cmd.type
        self.qualifier = cmd.qualifier
        self.details = cmd.details
        if self.type == CMD_SET_UP_EVENT_LIST:
            self.events = frozenset(cmd.events())
        elif self.type == CMD_SET_UP_MENU:
            alpha = stk.find(cmd.tlvs, stk.Tag.ALPHA_IDENTIFIER)
            self.menu = (tuple(cmd.menu_items()), stk.decode_alpha(alpha.value) if alpha else "")
        elif self.type == CMD_REFRESH:
            paths = tuple(cmd.files())
            self.files = (paths, frozenset([int(p.rsplit("/", 1)[-1], 16) for p in paths]))


cdef dict _fetched = {}


cdef Fetched _parse_proactive(bytes data):
    """A FETCHed proactive command, decoded (commands are immutable)."""
    fetched = _fetched.get(data)
    # kept (callgrind, bench/scenario_replay.py): decoded each time: FETCH loops 141 M Ir instead of 39 M
    if fetched is None:
        fetched = remember(_fetched, data, Fetched(stk.parse_proactive(data)))
    return fetched


# fixed commands of the UICC activation (TS 102 221 §11.1.1, §11.1.5)
cdef bytes _SELECT_MF = bytes.fromhex("00A4000C023F00")


cdef bytes _select_aid_apdu(bytes aid):
    """SELECT by DF name (TS 102 221 §11.1.1, P1 = 04), FCP returned."""
    return bytes((0x00, 0xA4, 0x04, 0x04, len(aid))) + aid + b"\x00"


#: TERMINAL PROFILE of the facilities this terminal supports (TS 102 223 §5.2)
cdef bytes _DEFAULT_TERMINAL_PROFILE = bytes(stk.TerminalProfile.build(TERMINAL_FACILITIES).raw)


cdef bytes _NO_TMSI = b"\xff" * 4     # EF_LOCI without TMSI (TS 31.102 §4.2.17)
cdef bytes _NO_GUTI = b"\xff" * 12    # EF_EPSLOCI without GUTI (TS 31.102 §4.2.91)
cdef tuple _EPS_STATUS = (b"\x00", b"\x01", b"\x02")
#: SELECT by path from the MF (TS 102 221 §8.4.2, P1 08, no data): '7FFF' (the current ADF), DF.5GS,
#: EF_5GS3GPPLOCI (TS 31.102 §4.4.11.2); then SELECT '7FFF' back to the ADF (§8.4.1)
cdef bytes _SELECT_5GS3GPPLOCI = bytes.fromhex("00A4080C067FFF5FC04F01")
cdef bytes _SELECT_CURRENT_ADF = bytes.fromhex("00A4000C027FFF")
cdef bytes _READ_5GS3GPPLOCI = bytes.fromhex("00B0000014")   # READ BINARY of its 20 bytes
cdef int _5GS_LOCI_KEY = 0x5FC04F01   # its entry among the contents last written
cdef int _SERVICE_5GS_MM = 122        # UST: 5GS Mobility Management Information (TS 31.102 §4.2.8)
cdef bytes _SELECT_DF_5GS = bytes.fromhex("00A4080C047FFF5FC0")   # DF.5GS by path from the ADF
cdef int _OPL5G_FID = 0x4F08
cdef int _OPL5G_KEY = 0x5FC04F08      # EF_OPL5G among the decoded contents
cdef bytes _AUTHENTICATE_HEAD = bytes((0x00, 0x88, 0x00, 0x81, 0x22, 0x10))  # then RAND, L, AUTN, Le


cdef dict _plmn_codes = {}


cdef bytes _plmn_code(str plmn):
    """The 3-byte PLMN identity of TS 24.008 §10.5.1.3."""
    code = _plmn_codes.get(plmn)
    # kept (callgrind, bench/scenario_replay.py): encoded each time: LAIs 13.7 M Ir instead of 1.8 M
    if code is None:
        code = remember(_plmn_codes, plmn, enc.encode_plmn(plmn))
    return code


cdef bytes _lai(str plmn, long area):
    """PLMN and 16-bit LAC/TAC as stored in EF_LOCI/PSLOCI/EPSLOCI (TS 24.008 §10.5.1.3)."""
    return _plmn_code(plmn) + (area & 0xFFFF).to_bytes(2, "big")


@cython.no_gc
cdef class Usim:
    """What the terminal read from the USIM (decoded once, updated on REFRESH), and what it
    derives from it: the HPLMN and the lists for PLMN selection (:attr:`lists`)."""

    cdef public object iccid
    cdef readonly object imsi
    cdef readonly object mnc_length
    cdef public object spn
    cdef public object ust
    cdef readonly object user
    cdef readonly object operator
    cdef readonly object hplmn_act
    cdef readonly object ehplmn
    cdef object _fplmn
    cdef readonly object fplmn_size
    cdef public object rplmn
    cdef readonly object hpplmn_minutes
    cdef readonly object hplmn
    cdef readonly object lists
    cdef public tuple pnn
    cdef public tuple opl
    cdef public tuple opl5g
    cdef public frozenset spdi

    def __init__(self, iccid=None, imsi=None, mnc_length=2, spn=None, ust=frozenset(), user=(),
                 operator=(), hplmn_act=(), ehplmn=(), fplmn=None, fplmn_size=0, rplmn=None,
                 hpplmn_minutes=0, pnn=(), opl=(), spdi=frozenset(), opl5g=()):
        self.iccid = iccid
        self.imsi = imsi
        self.mnc_length = mnc_length
        self.spn = spn
        self.ust = ust
        self.user = user
        self.operator = operator
        self.hplmn_act = hplmn_act
        self.ehplmn = ehplmn
        self._fplmn = [] if fplmn is None else fplmn
        self.fplmn_size = fplmn_size
        self.rplmn = rplmn
        self.hpplmn_minutes = hpplmn_minutes
        self.pnn = pnn        # EF_PNN records: {"full", "short"?} or None (TS 31.102 §4.2.58)
        self.opl = opl        # EF_OPL entries in order (§4.2.59)
        self.opl5g = opl5g    # DF.5GS/EF_OPL5G entries in order (§4.4.11.9)
        self.spdi = spdi      # EF_SPDI service provider PLMNs (§4.2.66)
        self.derive()

    @property
    def fplmn(self):
        """The terminal's copy of EF_FPLMN (TS 31.102 §4.2.16), free entries as ``""``."""
        return self._fplmn

    @fplmn.setter
    def fplmn(self, entries):
        self._fplmn = entries
        self.derive()

    cdef void derive(self):
        """The HPLMN: MCC and MNC of the IMSI (TS 23.122 §1.2, MNC length from EF_AD), and the
        lists for PLMN selection (TS 31.102 §4.2.5, 4.2.16, 4.2.52, 4.2.53, 4.2.84)."""
        self.hplmn = plmn_of_imsi(self.imsi, self.mnc_length) if self.imsi else None
        self.lists = sel.SimLists(self.hplmn or "", self.ehplmn, self.hplmn_act, self.user, self.operator,
                                  tuple([p for p in self._fplmn if p]))

    cdef void assign(self, tuple values):
        """Set the fields decoded from subscription files (those of ``values`` by slot, not
        ``_MISSING``), the mutable ones as the terminal's own copies."""
        v = values[SLOT_IMSI]
        if v is not _MISSING:
            self.imsi = v
        v = values[SLOT_MNC_LENGTH]
        if v is not _MISSING:
            self.mnc_length = v
        v = values[SLOT_SPN]
        if v is not _MISSING:
            self.spn = dict(v) if v is not None else None
        v = values[SLOT_USER]
        if v is not _MISSING:
            self.user = v
        v = values[SLOT_OPERATOR]
        if v is not _MISSING:
            self.operator = v
        v = values[SLOT_HPLMN_ACT]
        if v is not _MISSING:
            self.hplmn_act = v
        v = values[SLOT_EHPLMN]
        if v is not _MISSING:
            self.ehplmn = v
        v = values[SLOT_FPLMN]
        if v is not _MISSING:
            self._fplmn = list(v)
        v = values[SLOT_HPPLMN]
        if v is not _MISSING:
            self.hpplmn_minutes = v
        v = values[SLOT_FPLMN_SIZE]
        if v is not _MISSING:
            self.fplmn_size = v
        self.derive()

    def __repr__(self):
        return (f"Usim(iccid={self.iccid!r}, imsi={self.imsi!r}, mnc_length={self.mnc_length!r}, "
                f"spn={self.spn!r}, fplmn={self.fplmn!r}, rplmn={self.rplmn!r})")


def _rats(act):
    return frozenset([_ACT_RAT[a] for a in act if a in _ACT_RAT])


cdef bytes _cell_identity(object cell):
    """Cell identity field of the location information (TS 31.111 §8.19)."""
    if cell.rat == "2G":
        return (cell.cell_id & 0xFFFF).to_bytes(2, "big")
    if cell.rat == "3G":
        return (cell.cell_id & 0xFFFFFFFF).to_bytes(4, "big")  # CI ‖ extended (RNC-id) CI
    if cell.rat == "4G":
        return ((cell.cell_id & 0xFFFFFFF) << 4 | 0xF).to_bytes(4, "big")  # 28-bit ECI, F padded
    return ((cell.cell_id & 0xFFFFFFFFF) << 4 | 0xF).to_bytes(5, "big")  # 36-bit NCI, F padded


cdef object _location_info(object plmn, object cell):
    return stk.LocationInformation(plmn, cell.area & (0xFFFFFF if cell.rat == "5G" else 0xFFFF),
                                   _cell_identity(cell))


cdef dict _envelopes = {}


cdef bytes _location_envelope(str service, object plmn, object cell):
    """ENVELOPE (EVENT DOWNLOAD) of the location status event (TS 102 223 §7.5.3, §8.27), with
    the location information of ``cell`` on ``plmn`` when the terminal is registered there."""
    key = (service, plmn, cell.rat, cell.area, cell.cell_id) if plmn else (service,)
    apdu = _envelopes.get(key)
    # kept (callgrind, bench/scenario_replay.py): built each time: reports 48.6 M Ir instead of 39.1 M
    if apdu is None:
        info = _location_info(plmn, cell) if plmn else None
        data = stk.event_download_location_status(_LOCATION_STATUS[service], info)
        apdu = remember(_envelopes, key, bytes((0x80, 0xC2, 0x00, 0x00, len(data))) + data)
    return apdu


cdef bytes _location_object(object cell):
    """LOCATION INFORMATION data object (TS 102 223 §8.19) of a cell."""
    return stk.ctlv(stk.Tag.LOCATION_INFORMATION, _location_info(cell.plmn, cell).encode())


def _plmn_act(raw):
    return tuple([(e["plmn"], _rats(e["act"])) for e in enc.decode_plmn_act_list(raw)])


def _fplmn(raw):
    return tuple([enc.decode_plmn(raw[i:i + 3]) or "" for i in range(0, 3 * (len(raw) // 3), 3)])


def _ad_mnc_length(raw):
    return enc.decode_ad(raw).get("mnc_length", 2) if len(raw) >= 4 else 2


def _eps_rplmn(raw):
    d = enc.decode_epsloci(raw)
    return d["plmn"] if d["status"] == "updated" else None


def _cs_rplmn(raw):
    d = enc.decode_loci(raw)
    return d["plmn"] if d["status"] in ("updated", "not_updated") else None


def _spn(raw):
    spn = enc.decode_spn(raw)
    return tuple(spn.items()) if spn is not None else None


def _ust(raw):
    return frozenset(enc.decode_service_table(raw))


def _ehplmn(raw):
    return tuple(enc.decode_plmn_list(raw))


def _hpplmn(raw):
    return enc.decode_hpplmn(raw)["minutes"]


def _5gs_rplmn(raw):
    d = enc.decode_5gs_loci(raw)
    return d["plmn"] if d["status"] == "updated" else None


def _pnn(records):
    out = []
    for r in records:
        try:
            out.append(enc.decode_pnn_record(r))
        except (ValueError, IndexError, UnicodeDecodeError):
            out.append(None)  # a name the terminal cannot decode is not shown
    return tuple(out)


def _area_entries(records, decode, str low, str high):
    """EF_OPL / EF_OPL5G entries as (PLMN, lowest area code, highest, PNN record, has 'D' digits);
    a record the terminal cannot decode is skipped."""
    out = []
    for r in records:
        try:
            entry = decode(r)
        except (ValueError, IndexError):
            continue
        if entry is not None:
            plmn = entry["plmn"]
            out.append((plmn, entry[low], entry[high], entry["pnn_record"], "D" in plmn))
    return tuple(out)


def _opl(records):
    return _area_entries(records, enc.decode_opl_record, "lac_min", "lac_max")


def _opl5g(records):
    return _area_entries(records, enc.decode_opl5g_record, "tac_min", "tac_max")


cdef object _named(tuple entries, object plmn, long area, long whole, tuple pnn, object opname):
    """The full name of the EF_PNN record that the first entry for ``plmn`` whose range holds
    ``area`` designates (with ``whole`` >= 0, only entries 0 to ``whole``, the whole PLMN, count);
    ``opname`` when none does or its record is 0 or unused (TS 31.102 §4.2.59, §4.4.11.9)."""
    for entry_plmn, low, high, record, wild in entries:
        if not (enc.plmn_matches(entry_plmn, plmn) if wild else entry_plmn == plmn):
            continue
        if (low == 0 and high == whole) if whole >= 0 else low <= area <= high:
            if 0 < record <= len(pnn) and pnn[record - 1] is not None:
                return pnn[record - 1]["full"]
            return opname
    return opname


def _spdi(raw):
    try:
        return frozenset(enc.decode_spdi(raw))
    except ValueError:
        return frozenset()


# how the terminal decodes each EF it reads (TS 102 221 §13, TS 31.102 §4.2), into immutable values
cdef dict _DECODERS = {
    EF_ICCID: enc.decode_iccid,
    EF_UST: _ust,
    EF_IMSI: enc.decode_imsi,
    EF_AD: _ad_mnc_length,
    EF_SPN: _spn,
    EF_PLMNWACT: _plmn_act,
    EF_OPLMNWACT: _plmn_act,
    EF_HPLMNWACT: _plmn_act,
    EF_EHPLMN: _ehplmn,
    EF_FPLMN: _fplmn,
    EF_HPPLMN: _hpplmn,
    EF_EPSLOCI: _eps_rplmn,
    EF_LOCI: _cs_rplmn,
    _5GS_LOCI_KEY: _5gs_rplmn,
    EF_PNN_: _pnn,
    EF_OPL_: _opl,
    _OPL5G_KEY: _opl5g,
    EF_SPDI_: _spdi,
}


cdef dict _decoded = {}


cdef object _decode(int fid, object raw):
    """Decoded contents of an EF read from the card: its bytes, or its records as a tuple (the
    values are not changed afterwards)."""
    key = (fid, raw)
    value = _decoded.get(key, _MISSING)
    # kept (callgrind, bench/scenario_replay.py): decoded each time: USIM reads 282 M Ir instead of 48 M
    if value is _MISSING:
        value = remember(_decoded, key, _DECODERS[fid](raw))
    return value


#: the USIM files read after EF_UST, in the order the terminal reads them: subscription data,
#: then the location information (rewritten at every registration)
cdef tuple _USIM_FILES = (EF_IMSI, EF_AD, EF_SPN, EF_PLMNWACT, EF_OPLMNWACT, EF_HPLMNWACT, EF_EHPLMN,
                          EF_FPLMN, EF_HPPLMN, EF_EPSLOCI, EF_PSLOCI, EF_LOCI)
cdef frozenset _LOCATION_FILES = frozenset((EF_EPSLOCI, EF_PSLOCI, EF_LOCI))
#: the Usim field each file sets, and its value when the file is absent or empty
cdef enum:
    SLOT_IMSI, SLOT_MNC_LENGTH, SLOT_SPN, SLOT_USER, SLOT_OPERATOR, SLOT_HPLMN_ACT, SLOT_EHPLMN, SLOT_FPLMN, \
        SLOT_HPPLMN, SLOT_FPLMN_SIZE, N_SLOTS
cdef dict _USIM_FIELD = {
    EF_IMSI: (SLOT_IMSI, None), EF_AD: (SLOT_MNC_LENGTH, 2), EF_SPN: (SLOT_SPN, None),
    EF_PLMNWACT: (SLOT_USER, ()), EF_OPLMNWACT: (SLOT_OPERATOR, ()), EF_HPLMNWACT: (SLOT_HPLMN_ACT, ()),
    EF_EHPLMN: (SLOT_EHPLMN, ()), EF_FPLMN: (SLOT_FPLMN, ()), EF_HPPLMN: (SLOT_HPPLMN, 0),
}
cdef frozenset _SELECTION_FILES = frozenset((EF_FPLMN, EF_OPLMNWACT, EF_PLMNWACT, EF_EHPLMN, EF_HPLMNWACT))
cdef frozenset _RPLMN_FILES = frozenset((EF_LOCI, EF_EPSLOCI))
cdef frozenset _SOR_FILES = frozenset((EF_OPLMNWACT, EF_FPLMN))


cdef dict _files_by_service = {}


cdef tuple _files_to_read(frozenset ust, object want):
    """The files to read: those wanted whose service is available in EF_UST (TS 31.102 §4.2.8).

    Also returns how many of them come before the location information files.
    """
    key = (ust, want)
    files = _files_by_service.get(key)
    # kept (callgrind, 120 power_ons): worked out each time, 13.6 k Ir of a power_on's 283 k
    if files is None:
        files = remember(_files_by_service, key, _file_list(ust, want))
    return files


cdef tuple _file_list(frozenset ust, object want):
    fids = []
    for fid in _USIM_FILES:
        service = _SERVICE_OF.get(fid)
        if (want is None or fid in want) and (service is None or not ust or service in ust):
            fids.append(fid)
    n = 0
    for fid in fids:
        n += fid not in _LOCATION_FILES
    return tuple(fids), n


cdef dict _usim_decoded = {}


cdef tuple _usim_values(tuple fids, tuple raws):
    """The :class:`Usim` fields decoded from subscription files, by slot (``SLOT_*``); a field no
    file set is ``_MISSING``."""
    key = (fids, raws)
    values = _usim_decoded.get(key)
    # kept (callgrind, 120 power_ons): decoded file by file each time, 21 k Ir of a power_on's 283 k
    if values is None:
        values = remember(_usim_decoded, key, _slots_of(fids, raws))
    return values


cdef tuple _slots_of(tuple fids, tuple raws):
    slots = [_MISSING] * N_SLOTS
    for fid, raw in zip(fids, raws, strict=True):
        field_ = _USIM_FIELD.get(fid)
        if field_ is not None:
            slots[field_[0]] = _decode(fid, raw) if raw else field_[1]
    if EF_FPLMN in fids:
        slots[SLOT_FPLMN_SIZE] = len(slots[SLOT_FPLMN])
    return tuple(slots)


cdef object _cell_of(dict index, object cand):
    """The cell of ``index`` a candidate stands for; a cell built from the candidate when not heard."""
    cell = index.get((cand.plmn, cand.rat, cand.cell_id))
    if cell is not None:
        return cell
    return Cell(cand.plmn, cand.rat, cand.signal, cand.area, cand.cell_id)


def _imei_bytes(digits):
    """IMEI data object value (TS 102 223 §8.20 / TS 24.008 §10.5.1.4): type 010 (IMEI), BCD swapped."""
    d = [int(c) for c in digits[:15]]
    first = d[0] << 4 | 0x0A  # odd number of digits (15) + type IMEI
    rest = [d[i + 1] << 4 | d[i] for i in range(1, 15, 2)]
    return bytes([first, *rest])


def _pin_to_verify(status):
    """Key reference the terminal presents for user verification (TS 102 221 §9.5.2).

    The application PIN (first key reference 01..08) when enabled; when it is disabled, the
    universal PIN if enabled and marked for use (usage qualifier 08); otherwise no PIN at all.
    """
    entries = list(status)
    app = next((e for e in entries if 0x01 <= e[0] <= 0x08), None)
    if app is not None and app[1]:
        return app[0]
    universal = next((e for e in entries if e[0] == UNIVERSAL_PIN), None)
    if universal is not None and universal[1] and universal[2] == USE_UNIVERSAL_PIN:
        return UNIVERSAL_PIN
    return None


cdef object _pin_of_template(tuple status):
    """:func:`_pin_to_verify` of a decoded template."""
    return _pin_to_verify(status)


cdef class ModemCore:
    """Typed state and procedures of :class:`harness.terminal.modem.Modem`."""

    cdef public object world
    cdef object _log
    cdef bint _fast_log          # the log is exactly an EventLog: events are appended in C
    cdef public object config
    cdef public object network
    cdef public object rng
    cdef public bint powered
    cdef public object location
    cdef public bint coverage
    cdef public dict signal_overrides
    cdef public Usim usim
    cdef public int refresh_count
    cdef public int profile_switches
    cdef public object service
    cdef public object registered
    cdef public object cell
    cdef public object camped
    cdef public bint packet
    cdef public object last_cause
    cdef public object sim_state
    cdef public dict forbidden_las
    cdef public object last_search
    cdef object _events            # the events of the card's SET UP EVENT LIST
    cdef bint _location_event      # LOCATION STATUS is one of them
    cdef public object menu
    cdef public object menu_title
    cdef public object _last_location_status
    cdef public bint _reinit
    cdef public bint _reselect
    cdef public double _next_retry
    cdef public double _next_hplmn_search
    cdef public bint _in_proactive
    cdef public object _aid
    cdef public dict _efs
    cdef public dict _sizes
    cdef public UiccLink _link
    cdef public object _last_loci     # (ICCID, the location file written last) on a card with DF.5GS

    def __init__(self, transport, world, log, config, network):
        self._efs = {}
        self._sizes = {}
        self.transport = transport  # also builds the link (see the property)
        self.world = world
        self.log = log
        self.config = config
        self.network = network
        self.rng = random.Random(self.config.seed)  # noqa: S311 - reproducible selection order
        self.powered = False
        self.location = None
        self.coverage = True
        self.signal_overrides = {}
        self.usim = Usim()
        self.refresh_count = 0
        self.profile_switches = 0
        # radio / registration state
        self.service = S_NONE
        self.registered = None
        self.cell = None
        self.camped = None  # cell camped on in limited service
        self.packet = False
        self.last_cause = None
        self.sim_state = "absent"  # absent | ready | pin_required | blocked | invalid
        self.forbidden_las = {}
        self.last_search = []
        # toolkit state
        self.events = frozenset()
        self.menu = []
        self.menu_title = ""
        self._last_location_status = None
        self._reinit = False
        self._reselect = False
        self._next_retry = 0.0
        self._next_hplmn_search = 0.0
        self._in_proactive = False
        self._aid = None
        self._last_loci = None

    @property
    def transport(self):
        """The transport to the card; setting it rebuilds the terminal's side of the link."""
        return self._link.transport

    @transport.setter
    def transport(self, transport):
        self._link = UiccLink(transport, self._sizes, self._efs)

    @property
    def events(self):
        """Events the card registered with SET UP EVENT LIST (TS 102 223 §6.6.16)."""
        return self._events

    @events.setter
    def events(self, events):
        self._events = events
        self._location_event = EVENT_LOCATION_STATUS in events

    @property
    def log(self):
        """The run's :class:`~harness.events.EventLog`."""
        return self._log

    @log.setter
    def log(self, log):
        self._log = log
        self._fast_log = type(log) is EventLog

    cdef inline void record(self, str kind, dict data):
        """One event of ``kind`` in the log."""
        if self._fast_log:
            record_event(self._log, kind, data)
        else:
            self._log.record(kind, **data)

    cdef inline double now(self):
        return self._log.time

    # ================================================================== public API (scenario steps)
    def power_on(self, country=None, location=None, pin=None):
        """Switch on at a country (its default location) or a named location of the world."""
        if pin is not None:
            self.config.pin = pin
        self.set_location(country, location, self.location)
        if self.powered:
            self.power_off()
        self.powered = True
        self.forbidden_las.clear()  # erased at switch-off (TS 24.008 §4.4.1)
        self._link.transport.reset()
        self._initialise(True)
        self.select_and_register(True, False)
        self.settle()

    def power_off(self):
        """IMSI detach and switch off (the card keeps its files; the ME forgets LAs/menus)."""
        if not self.powered:
            return
        if self.registered and self.usim.imsi:
            self.network.receive(DetachRequest(self.usim.imsi, self.registered))
            self.record("detach", {"plmn": self.registered, "reason": "power off"})
        self.registered = None
        self.cell = self.camped = None
        self.service = S_NONE
        self.packet = False
        self.powered = False
        self.events = frozenset()
        self.menu = []
        self._last_location_status = None
        self.forbidden_las.clear()

    def restart(self):
        """Switch off then on at the same place."""
        self.power_off()
        self.power_on()

    def move(self, country=None, location=None):
        """Change of place: the cells of the new location are heard; cell/PLMN reselection follows."""
        self.set_location(country, location, None)
        if self.powered:
            self.reselect_after_change()
            self.settle()

    def wait(self, seconds):
        """Simulated time passes: retries out of service, periodic HPLMN search (EF_HPPLMN)."""
        cdef double end = self._log.time + float(seconds)
        cdef double due
        while True:
            due = self._next_timer()
            if due < 0 or due > end:
                break
            if due > self._log.time:
                self._log.time = due
            self._on_timer()
        self._log.time = end
        if self.forbidden_las:
            for key, t in list(self.forbidden_las.items()):
                if end - t >= LA_LIFETIME:
                    del self.forbidden_las[key]

    @property
    def roaming(self):
        """Registered on a PLMN that is neither the HPLMN nor an EHPLMN (TS 23.122 §1.2)."""
        return self._roaming()

    cdef bint _roaming(self):
        plmn = self.registered
        if plmn is None:
            return False
        cdef Usim u = self.usim
        return not (plmn == u.hplmn or plmn in u.ehplmn)  # sel.is_home on the USIM's lists

    @property
    def data_active(self):
        """PS attached and data allowed: registered, packet service granted, roaming switch on if roaming."""
        return (self.service == S_NORMAL and self.packet
                and (not self._roaming() or self.config.data_roaming))

    def status(self):
        """Observables for scenario expectations."""
        u = self.usim
        registered = self.registered
        place = self._place(self.location, registered)
        opname = place[1]
        spn = u.spn["name"] if u.spn else None
        roaming = self._roaming()
        cell = self.cell if registered else None
        name = self.network_name(registered, cell, opname) if registered else None
        config = self.config
        return {
            "powered": self.powered,
            "registered": registered,
            "plmn_name": opname,
            "rat": cell.rat if cell else None,
            "area": cell.area if cell else None,
            "roaming": roaming,
            "service": self.service,
            "data": (self.service == S_NORMAL and self.packet
                     and (not roaming or config.data_roaming)),
            "data_roaming": config.data_roaming,
            "imsi": u.imsi,
            "iccid": u.iccid,
            "hplmn": u.hplmn,
            "spn": spn,
            "display_name": self.shown_name(name, roaming) if registered else None,
            "network_name": name,
            "country": place[0],
            "location": self.location,
            "zone": place[2],
            "selection": config.selection,
            "manual_plmn": config.manual_plmn,
            "forbidden": [p for p in u.fplmn if p],
            "forbidden_las": sorted([f"{p}:{a}" for p, a in self.forbidden_las]),
            "last_cause": self.last_cause,
            "sim": self.sim_state,
            "refresh_count": self.refresh_count,
            "profile_switches": self.profile_switches,
            "menu": [t for _, t in self.menu],
            "events": sorted(self.events),
            "networks": list(self.last_search),
            "time": self._log.time,
        }

    cdef tuple _place(self, object location, object registered):
        """Country of the location, name of the serving operator and its zone (worlds are immutable)."""
        world = self.world
        key = ("status_place", location, registered)
        place = world.memo.get(key)
        if place is None:
            loc = world.locations.get(location) if location else None
            reg_country = world.country_of_plmn(registered)
            place = world.remember(key, (loc.country if loc else None, world.operator_name(registered),
                                         world.zones[reg_country.zone].key if reg_country else None))
        return place

    def _display_name(self, opname, roaming):
        return self.display_name_of(opname, roaming)

    cdef object display_name_of(self, object opname, bint roaming):
        """The name shown (TS 22.101 §A.4, TS 31.102 §4.2.12): on the HPLMN, an EHPLMN or a PLMN
        of EF_SPDI the service provider name, with the network name when b1 of EF_SPN's display
        condition asks for it; elsewhere the network name (:meth:`network_name`), with the
        service provider name when b2 is 0. A name is not shown twice."""
        return self.shown_name(self.network_name(self.registered, self.cell, opname), roaming)

    cdef object shown_name(self, object name, bint roaming):
        """:meth:`display_name_of` given the network name ``name`` of the registered PLMN."""
        cdef Usim u = self.usim
        spn = u.spn
        if not spn or not spn.get("name"):
            return name
        provider = spn["name"]
        if not roaming or (u.spdi and self.registered in u.spdi):
            if spn.get("display_plmn_on_home") and name and name != provider:
                return f"{provider} ({name})"
            return provider
        if spn.get("display_spn_when_roaming") and name != provider:
            return f"{name} ({provider})"
        return name

    # ================================================================== card access
    cdef bint _update(self, int fid, bytes data):
        """UPDATE BINARY when the contents change; returns whether the card accepted it."""
        cdef int sw = self._link.update(fid, data)
        if sw >> 8 == 0x91:
            self.proactive(sw)
            return True
        return sw == 0x9000

    # ================================================================== initialisation
    cdef void _initialise(self, bint send_profile):
        """USIM application selection and initialisation (TS 31.102 §5.1.1)."""
        self._efs.clear()
        if send_profile or self._aid is None:  # UICC activation: EF_DIR/EF_ICCID; NAA init keeps them
            self._aid = self._usim_aid()
        data, sw = self._link.tx(_select_aid_apdu(self._aid))
        if sw != 0x9000:
            self.sim_state = "absent"
            self.usim = Usim()
            self.record("sim", {"state": "absent", "sw": f"{sw:04X}"})
            return
        if not self._user_verification(data):
            self.usim = Usim(iccid=self.usim.iccid)
            return
        self.sim_state = "ready"
        self._read_usim(None)
        if send_profile:
            tp = self.config.terminal_profile
            self.proactive(self._link.terminal_profile(bytes(tp) if tp else _DEFAULT_TERMINAL_PROFILE))

    cdef bytes _usim_aid(self):
        """EF_ICCID, then the USIM AID from EF_DIR (TS 102 221 §13.1), both under the MF."""
        cdef UiccLink link = self._link
        link.sw(_SELECT_MF)
        iccid = link.read(EF_ICCID_, 0)
        self.usim.iccid = _decode(EF_ICCID_, iccid) if iccid else None
        link.forget_aid()
        return link.usim_aid()

    cdef bint _user_verification(self, bytes fcp):
        """PIN to verify from the PIN status template DO of the ADF's FCP (TS 102 221 §9.5.2).

        Only an enabled key reference is presented; when the FCP has no PIN status template
        the terminal falls back to the status check of the application PIN (key reference 01).
        """
        status = parse_fcp(fcp).pin_status
        if status is None:
            return self._verify_pin(APPLICATION_PIN)
        ref = _pin_of_template(status)
        return True if ref is None else self._verify_pin(ref)

    cdef bint _verify_pin(self, int ref):
        """PIN status check of key reference ``ref``, VERIFY when needed (TS 102 221 §11.1.9)."""
        cdef int sw = self._link.sw(bytes((0x00, 0x20, 0x00, ref)))  # PIN status: VERIFY, case 1
        if sw == 0x9000:
            return True
        if sw == 0x6984:
            return True  # reference data not usable: the PIN is disabled, nothing to present
        if sw == 0x6983 or sw == 0x63C0:
            self.sim_state = "blocked"  # the retry counter is returned blocked or not (§11.1.9.1.2)
        elif sw >> 4 == 0x63C and self.config.pin:
            # VERIFY PIN: the PIN in ASCII, padded with FF to 8 bytes
            _, sw = self._link.tx(bytes((0x00, 0x20, 0x00, ref, 0x08))
                                  + self.config.pin.encode("ascii").ljust(8, b"\xff"))
            if sw == 0x9000:
                self.record("pin", {"result": "verified"})
                return True
            if sw == 0x6984:
                return True  # a disabled PIN is not verified (§11.1.9.1.1): nothing to present
            self.sim_state = "blocked" if sw == 0x6983 else "pin_required"
            self.record("pin", {"result": "rejected", "sw": f"{sw:04X}"})
            return False
        else:
            self.sim_state = "pin_required"
        self.record("sim", {"state": self.sim_state, "sw": f"{sw:04X}"})
        return False

    cdef void _read_usim(self, object only):
        """Read and decode the USIM files the terminal uses (all, or ``only`` those)."""
        cdef Usim u = self.usim
        cdef UiccLink link = self._link
        cdef Py_ssize_t n, i
        cdef tuple fids, raws, values
        want = frozenset(only) if only is not None else None
        if want is None or EF_UST in want:
            raw = link.read(EF_UST_, 0)
            u.ust = _decode(EF_UST_, raw) if raw else frozenset()
        fids, n = _files_to_read(u.ust, want)
        raws = link.read_each(fids)
        values = _usim_values(fids[:n], raws[:n])
        old_imsi = u.imsi
        u.assign(values)
        if want is None or not want.isdisjoint(_RPLMN_FILES):
            # registered PLMN: EPS location information first, then the CS one (TS 23.122 §4.4.3)
            eps = cs = None
            for i in range(n, len(fids)):
                if fids[i] == EF_EPSLOCI:
                    eps = raws[i]
                elif fids[i] == EF_LOCI:
                    cs = raws[i]
            rplmn = _decode(EF_EPSLOCI_, eps) if eps else None
            if _SERVICE_5GS_MM in u.ust:
                rplmn = self._latest_rplmn(rplmn)
            u.rplmn = rplmn if rplmn is not None or not cs else _decode(EF_LOCI_, cs)
        if u.ust and (_SERVICE_PNN in u.ust or _SERVICE_SPDI in u.ust or u.pnn or u.spdi):
            self._read_names(want)
        if old_imsi is not None and u.imsi != old_imsi:
            # a new subscriber identity is a new subscription: the ME's forbidden LA lists go
            # (they are erased at SIM removal, TS 24.008 §4.4.1)
            self.forbidden_las.clear()
            self.profile_switches += 1
            self.record("profile_switch", {"old_imsi": old_imsi, "imsi": u.imsi, "hplmn": u.hplmn})

    cdef object _latest_rplmn(self, object eps_plmn):
        """The RPLMN at switch-on on a card with DF.5GS (UST service 122): of the valid location
        files, EF_5GS3GPPLOCI with 5U1 UPDATED (TS 24.501 §5.1.3.2.2, TS 31.102 §4.4.11.2) and
        EF_EPSLOCI with EU1 UPDATED (§4.2.91), the one this terminal wrote last for this card
        (an ME keeps its last registration across switch-off); without that memory (another
        terminal, a first switch-on) the 5GS one. TS 23.122 §4.4.3.1.1: the RPLMN is the PLMN of
        the last registration."""
        cdef UiccLink link = self._link
        nr_plmn = None
        if link.sw(_SELECT_5GS3GPPLOCI) == 0x9000:
            data, sw = link.tx(_READ_5GS3GPPLOCI)
            if sw == 0x9000 and len(data) == 20:
                self._efs[_5GS_LOCI_KEY] = data
                nr_plmn = _decode(_5GS_LOCI_KEY, data)
        link.sw(_SELECT_CURRENT_ADF)
        if nr_plmn is None:
            return eps_plmn
        if eps_plmn is not None and self._last_loci == (self.usim.iccid, EF_EPSLOCI_):
            return eps_plmn
        return nr_plmn

    cdef void _read_names(self, object want):
        """EF_PNN, EF_OPL and EF_SPDI, each when its service is on (TS 31.102 §4.2.58, §4.2.59,
        §4.2.66): what the terminal needs to name the registered network."""
        cdef Usim u = self.usim
        cdef UiccLink link = self._link
        ust = u.ust
        if want is None or EF_PNN_ in want:
            u.pnn = _decode(EF_PNN_, link.read_records_of(EF_PNN_)) if _SERVICE_PNN in ust else ()
        if want is None or EF_OPL_ in want:
            u.opl = _decode(EF_OPL_, link.read_records_of(EF_OPL_)) if _SERVICE_OPL in ust else ()
        if want is None or EF_SPDI_ in want:
            raw = link.read(EF_SPDI_, 0) if _SERVICE_SPDI in ust else None
            u.spdi = _decode(EF_SPDI_, raw) if raw else frozenset()
        if want is None or _OPL5G_FID in want:
            u.opl5g = self._read_opl5g() if _SERVICE_OPL5G in ust else ()

    cdef tuple _read_opl5g(self):
        """DF.5GS/EF_OPL5G (TS 31.102 §4.4.11.9): SELECT DF.5GS by path, every record, SELECT
        the ADF back."""
        cdef UiccLink link = self._link
        records = link.read_records_of(_OPL5G_FID) if link.sw(_SELECT_DF_5GS) == 0x9000 else ()
        link.sw(_SELECT_CURRENT_ADF)
        return _decode(_OPL5G_KEY, records)

    cdef object network_name(self, object plmn, object cell, object opname):
        """The name of the registered PLMN: the EF_PNN record that the first matching entry
        designates, of EF_OPL5G on NR when UST service 129 is on (TS 31.102 §4.4.11.9: PLMN and
        24-bit TAC range), else of EF_OPL (§4.2.59; on NR only entries for the whole PLMN,
        0000-FFFE, since its LAC/TAC range has 16 bits); a 'D' digit of an entry's PLMN matches
        any digit. Without EF_OPL, EF_PNN's first record on the HPLMN or an EHPLMN (§4.2.58);
        otherwise, or for PNN record 0, the network's own name (TS 22.101 §A.4: the ME's list or
        the name the network sends)."""
        cdef Usim u = self.usim
        pnn = u.pnn
        if not pnn or plmn is None:
            return opname
        area = cell.area if cell is not None else -1
        nr = cell is not None and cell.rat == "5G"
        if nr and _SERVICE_OPL5G in u.ust:
            return _named(u.opl5g, plmn, area, -1, pnn, opname)
        if _SERVICE_OPL in u.ust:
            return _named(u.opl, plmn, area, 0xFFFE if nr else -1, pnn, opname)
        if not self._roaming() and pnn[0] is not None:
            return pnn[0]["full"]
        return opname

    # ================================================================== selection and registration
    def _set_location(self, country, location, default):
        self.set_location(country, location, default)

    cdef int set_location(self, object country, object location, object default) except -1:
        """Go to ``location``, else ``country`` (its default location), else ``default``."""
        name = location or country or default
        if name is None:
            if self.location is None:
                raise ModemError("no location: give country= or location=")
            return 0
        locations = self.world.locations
        if name not in locations:
            raise ModemError(f"world {self.world.name!r} has no location {name!r} "
                             f"(known: {', '.join(sorted(locations))})")
        if country and location and locations[location].country != country:
            raise ModemError(f"location {location!r} is not in {country}")
        if name != self.location:
            self.location = name
            self.record("move", {"location": name, "country": locations[name].country})
        return 0

    cdef tuple _radio(self):
        """What decides the cells heard: the place, the coverage and the forced signal levels."""
        ov = self.signal_overrides
        return (self.location, self.coverage, tuple(ov.items()) if ov else ())

    cdef tuple _heard_cells(self, tuple radio):
        """The cells heard (cached per world and radio situation; worlds are immutable)."""
        memo = self.world.memo
        key = ("heard", radio)
        cells = memo.get(key)
        if cells is not None:
            return cells
        location, coverage, _ = radio
        if not coverage or location is None:
            cells = ()
        else:
            cells = self.world.locations[location].cells
            if self.signal_overrides:
                ov = self.signal_overrides
                out = []
                for c in cells:
                    level = ov.get((c.plmn, c.rat),
                                   ov.get((c.plmn, None), ov.get((None, c.rat), ov.get((None, None)))))
                    out.append(c if level is None else Cell(c.plmn, c.rat, level, c.area, c.cell_id))
                cells = tuple(out)
        return self.world.remember(key, cells)

    def _candidates(self):
        return list(self._candidate_tuple())

    cdef tuple _candidate_tuple(self):
        """The acceptable cells heard (TS 23.122 §4.4.3), cached per world and situation."""
        radio = self._radio()
        forbidden = self.usim.lists.forbidden
        las = frozenset(self.forbidden_las) if self.forbidden_las else frozenset()
        key = ("candidates", radio, self.config.rats, forbidden, las)
        cands = self.world.memo.get(key)
        if cands is None:
            heard = [(c.plmn, c.rat, c.signal, c.area, c.cell_id) for c in self._heard_cells(radio)]
            cands = self.world.remember(key, tuple(sel.available(
                heard, supported_rats=self.config.rats, forbidden=forbidden, forbidden_areas=las,
            )))
        return cands

    def _sim_lists(self):
        return self.sim_lists()

    cdef object sim_lists(self):
        """The USIM's lists for PLMN selection (TS 31.102 §4.2.5, 4.2.16, 4.2.52, 4.2.53, 4.2.84)."""
        return self.usim.lists

    cdef dict _cell_index(self):
        """The heard cells by (PLMN, RAT, cell identity), the first of each (cached per world and radio)."""
        world = self.world
        radio = self._radio()
        key = ("cell_index", radio)
        index = world.memo.get(key)
        if index is None:
            index = {}
            for c in self._heard_cells(radio):
                index.setdefault((c.plmn, c.rat, c.cell_id), c)
            world.remember(key, index)
        return index

    cdef object _cell_for(self, object cand):
        """The heard cell a selection candidate stands for (the world's, when it is heard)."""
        return _cell_of(self._cell_index(), cand)

    def _select_and_register(self, bint switch_on, bint user=False):
        """PLMN selection and registration (TS 23.122 §4.4.3) from scratch.

        ``user``: the user has just selected the network (manual mode). Only then is a chosen
        PLMN of the forbidden list attempted (TS 23.122 §3.1, §4.4.3.1.2).
        """
        self.select_and_register(switch_on, user)

    cdef void select_and_register(self, bint switch_on, bint user):
        cdef bint manual
        if self.sim_state != "ready" or not self.usim.imsi:
            self._no_registration(None)
            return
        candidates = self._candidate_tuple()
        sim = self.sim_lists()
        config = self.config
        if config.selection == "manual" and config.manual_plmn:
            order = sel.manual(candidates, config.manual_plmn)
            if not user and self._manual_choice_forbidden():
                order = []
            mode = "manual"
        else:
            order = sel.automatic(candidates, sim, rplmn=self.usim.rplmn if switch_on else None, rng=self.rng)
            mode = "automatic"
        manual = mode == "manual"
        self.record("plmn_selection", {"mode": mode, "order": [f"{c.plmn}/{c.rat}" for c in order[:8]]})
        rejected = set()
        skip = set()
        for cand in order:
            if cand.plmn in rejected or (cand.plmn, cand.rat) in skip:
                continue
            if not manual and (cand.plmn in self.usim.fplmn
                               or (cand.plmn, cand.area) in self.forbidden_las):
                continue  # became forbidden during this round
            outcome = self._register(self._cell_for(cand), manual)
            if outcome == "ok":
                return
            if outcome == "sim_invalid":
                break
            if outcome == "rat":
                skip.add((cand.plmn, cand.rat))
            else:
                rejected.add(cand.plmn)
        self._no_registration(candidates)

    cdef bint _manual_choice_forbidden(self):
        """Manual mode on a PLMN of EF_FPLMN: limited service until the user selects again."""
        config = self.config
        return (config.selection == "manual" and config.manual_plmn is not None
                and config.manual_plmn in self.usim.fplmn)

    cdef void _no_registration(self, object candidates):
        """Limited service on an acceptable cell if any can be heard, else no service."""
        if candidates is None:
            candidates = self._candidate_tuple()
        heard = [self._cell_for(c) for c in candidates]
        if not heard:
            rats = self.config.rats
            heard = [c for c in self._heard_cells(self._radio())
                     if sel.is_usable(c.rat, c.signal) and c.rat in rats]
        self.registered = None
        self.cell = None
        self.packet = False
        best = None
        for c in heard:  # the strongest; the first of equals
            if best is None or c.signal > best.signal:
                best = c
        self.camped = best
        self.service = S_LIMITED if best is not None else S_NONE
        self._next_retry = self._log.time + RETRY

    cdef str _register(self, object cell, bint manual):
        """One registration attempt with AKA; returns ok / rejected / rat / sim_invalid."""
        imsi = self.usim.imsi
        assert imsi is not None
        network = self.network
        msg = network.receive(AttachRequest(imsi, cell.plmn, cell.rat, cell.area, cell.cell_id))
        while isinstance(msg, AuthenticationRequest):
            msg = network.receive(self._authenticate(msg), imsi)
        if isinstance(msg, AttachAccept):
            self._accepted(msg, cell, manual)
            return "ok"
        if isinstance(msg, AuthenticationReject):
            self.last_cause = None
            self.sim_state = "invalid"  # TS 24.301 §5.4.2.5: USIM invalid until switch-off
            self.record("registration_rejected", {"plmn": cell.plmn, "rat": cell.rat, "cause": None,
                                                  "reason": "authentication reject"})
            return "sim_invalid"
        assert isinstance(msg, AttachReject)
        return self._rejected(msg.cause, cell)

    cdef object _authenticate(self, object req):
        """AUTHENTICATE in 3G/EPS context (TS 31.102 §7.1.2.1): P2 = 81, data L|RAND|L|AUTN."""
        cdef bytes apdu = b"".join((_AUTHENTICATE_HEAD, req.rand, b"\x10", req.autn, b"\x00"))
        cdef bytes data
        cdef int sw
        data, sw = self._link.tx(apdu)
        if (sw == 0x9000 or sw >> 8 == 0x91) and data[:1] == b"\xdb":
            return AuthenticationResponse(data[2:2 + data[1]])
        if (sw == 0x9000 or sw >> 8 == 0x91) and data[:1] == b"\xdc":
            self.record("auth_failure", {"cause": 21})
            return AuthenticationFailure(21, data[2:2 + data[1]])
        self.record("auth_failure", {"cause": 20, "sw": f"{sw:04X}"})
        return AuthenticationFailure(20)

    cdef void _accepted(self, object acc, object cell, bint manual):
        cdef Usim u = self.usim
        previous = self.registered
        plmn = acc.plmn
        self.registered = plmn
        self.cell = cell
        self.camped = cell
        self.packet = acc.packet
        self.service = S_NORMAL
        self.last_cause = None
        u.rplmn = plmn
        if u.hpplmn_minutes and self._roaming():
            self._next_hplmn_search = self._log.time + 60.0 * u.hpplmn_minutes
        if manual and plmn in u.fplmn:
            # a PLMN the user chose and registered on leaves the forbidden list (TS 23.122 §3.1)
            self._write_fplmn(sel.remove_forbidden(u.fplmn, plmn))
        rat = cell.rat
        lai = _lai(plmn, cell.area)
        self._update(EF_LOCI_, b"".join((acc.tmsi, lai, b"\xff\x00")))
        if rat == "2G" or rat == "3G":
            if acc.packet:
                self._update(EF_PSLOCI_, b"".join((acc.ptmsi, acc.ptmsi_signature, lai, b"\x01\x00")))
        elif rat == "5G" and _SERVICE_5GS_MM in u.ust:
            self._update_5gs_loci(acc.guti, plmn, cell.area)
            self._last_loci = (u.iccid, _5GS_LOCI_KEY)
        elif EF_EPSLOCI_ in self._efs or self._link.select(EF_EPSLOCI_, 0) > 0:
            # E-UTRAN, or NR without DF.5GS location: 5G NSA is anchored on the EPC
            self._update(EF_EPSLOCI_, b"".join((acc.guti, lai, b"\x00")))
            if _SERVICE_5GS_MM in u.ust:
                self._last_loci = (u.iccid, EF_EPSLOCI_)
        roaming = self._roaming()  # the writes may have run proactive commands (REFRESH)
        data = self.service == S_NORMAL and self.packet and (not roaming or self.config.data_roaming)
        self.record("registration", {"plmn": plmn, "rat": rat, "area": cell.area, "roaming": roaming,
                                     "previous": previous, "imsi": self.usim.imsi, "data": data})
        if self.usim.pnn:
            self._record_name(plmn, cell, roaming)

    cdef void _record_name(self, object plmn, object cell, bint roaming):
        """A ``network_name`` event: the name of the registered PLMN and what is displayed."""
        opname = self.world.operator_name(plmn)
        name = self.network_name(plmn, cell, opname)
        self.record("network_name", {"plmn": plmn, "rat": cell.rat, "area": cell.area, "name": name,
                                     "source": "network" if name is opname else "card",
                                     "display": self.display_name_of(opname, roaming)})

    cdef str _rejected(self, object cause, object cell):
        """Reject handling, TS 24.008 §4.4.4.7 / TS 24.301 §5.5.1.2.5."""
        self.last_cause = cause
        self.record("registration_rejected", {"plmn": cell.plmn, "rat": cell.rat, "cause": cause,
                                              "reason": CAUSE_NAMES.get(cause, "other"),
                                              "imsi": self.usim.imsi})
        if cause in SIM_INVALID_CAUSES:
            self.sim_state = "invalid"
            return "sim_invalid"
        if cause == CAUSE_PLMN_NOT_ALLOWED:
            lai = _lai(cell.plmn, cell.area)
            # the HPLMN/EHPLMN is never stored in the forbidden list
            if not sel.is_home(cell.plmn, self.sim_lists()):
                self._write_fplmn(sel.add_forbidden(self.usim.fplmn, cell.plmn, self.usim.fplmn_size))
            self._update(EF_LOCI_, _NO_TMSI + lai + b"\xff\x02")
            self._update_epsloci_status(lai, 0x02)
            return "rejected"
        if cause == CAUSE_ROAMING_NOT_ALLOWED_IN_LA or cause == 12:
            lai = _lai(cell.plmn, cell.area)
            self.forbidden_las[(cell.plmn, cell.area)] = self._log.time
            self._update(EF_LOCI_, _NO_TMSI + lai + b"\xff\x03")
            eps_status = 0x02 if cause == CAUSE_ROAMING_NOT_ALLOWED_IN_LA else 0x01
            self._update_epsloci_status(lai, eps_status)
            return "rejected"
        if cause == CAUSE_NO_SUITABLE_CELLS_IN_LA:
            return "rat"
        return "rejected"

    cdef void _update_5gs_loci(self, bytes guti, str plmn, long area):
        """EF_5GS3GPPLOCI (TS 31.102 §4.4.11.2) after a registration on NR: the 5G-GUTI
        (5GS mobile identity, TS 24.501 §9.11.3.4) mapped from the GUTI the network assigned
        (TS 23.003 §2.10.2: AMF region/set/pointer = MMEGI and MMEC, 5G-TMSI = M-TMSI), the TAI
        with its 24-bit TAC, status 5U1 UPDATED."""
        cdef bytes data = b"".join((b"\x00\x0b\xf2", guti[2:12], _plmn_code(plmn),
                                    (area & 0xFFFFFF).to_bytes(3, "big"), b"\x00"))
        cdef int sw
        if self._efs.get(_5GS_LOCI_KEY) == data:
            return
        if self._link.sw(_SELECT_5GS3GPPLOCI) != 0x9000:
            self._link.sw(_SELECT_CURRENT_ADF)
            return
        sw = self._link.sw(b"".join((b"\x00\xd6\x00\x00", bytes((len(data),)), data)))
        self._link.sw(_SELECT_CURRENT_ADF)
        if sw == 0x9000 or sw >> 8 == 0x91:
            self._efs[_5GS_LOCI_KEY] = data
        if sw >> 8 == 0x91:
            self.proactive(sw)

    cdef void _update_epsloci_status(self, bytes lai, int status):
        """EF_EPSLOCI without GUTI, the TAI and an EPS update status (TS 31.102 §4.2.91)."""
        if EF_EPSLOCI in self._efs:
            self._update(EF_EPSLOCI_, _NO_GUTI + lai + _EPS_STATUS[status])

    cdef void _write_fplmn(self, object entries):
        """EF_FPLMN write-back (TS 31.102 §4.2.16), only when the list changes."""
        size = self.usim.fplmn_size
        if not size:
            return
        current = list(self.usim.fplmn)[:size] + [""] * max(0, size - len(self.usim.fplmn))
        if list(entries) == current:
            return
        data = b"".join([_plmn_code(p) if p else b"\xff\xff\xff" for p in entries])
        if self._update(EF_FPLMN_, data):
            self.usim.fplmn = list(entries)
            self.record("fplmn", {"plmns": [p for p in entries if p]})

    def _reselect_after_change(self):
        """Radio conditions changed: stay on the serving PLMN if it can still be heard, else select."""
        self.reselect_after_change()

    cdef void reselect_after_change(self):
        if self.sim_state != "ready":
            self._no_registration(None)
            return
        registered = self.registered
        if registered is not None:
            cands = [c for c in self._candidate_tuple() if c.plmn == registered]
            manual_ok = self.config.selection != "manual" or registered == self.config.manual_plmn
            if cands and manual_ok:
                best = None
                for r in sel.RAT_PREFERENCE:
                    for c in cands:
                        if c.rat == r:
                            best = c
                            break
                    if best is not None:
                        break
                if best is None:
                    best = cands[0]
                current = self.cell
                if current is not None:
                    for c in cands:
                        if c.rat == current.rat:
                            best = c
                            break
                cell = self._cell_for(best)
                if current is None or cell.area != current.area or cell.rat != current.rat:
                    # tracking/location area update on the same PLMN (no new authentication)
                    self.cell = self.camped = cell
                    self._update(EF_LOCI_, (self._efs.get(EF_LOCI) or b"\xff" * 11)[:4]
                                 + _lai(cell.plmn, cell.area) + b"\xff\x00")
                    self.record("location_update", {"plmn": cell.plmn, "rat": cell.rat, "area": cell.area})
                    if self.usim.pnn:
                        self._record_name(cell.plmn, cell, self._roaming())
                else:
                    self.cell = self.camped = cell
                return
            if self.usim.imsi:
                self.network.receive(DetachRequest(self.usim.imsi, registered))
            self.registered = None
        self.select_and_register(True, False)

    # ================================================================== timers
    cdef double _next_timer(self):
        """When the next timer falls due; -1 when none runs."""
        if not self.powered or self.sim_state != "ready":
            return -1.0
        if self.service != S_NORMAL:
            # no periodic attempt on a forbidden PLMN chosen by the user (TS 23.122 §4.4.3.1.2)
            return -1.0 if self._manual_choice_forbidden() else self._next_retry
        if self.usim.hpplmn_minutes and self._roaming() and self.config.selection == "automatic":
            return self._next_hplmn_search
        return -1.0

    cdef void _on_timer(self):
        if self.service != S_NORMAL:
            self.select_and_register(True, False)
            if self.service != S_NORMAL:
                self._next_retry = self._log.time + RETRY
        else:
            self._next_hplmn_search = self._log.time + 60.0 * self.usim.hpplmn_minutes
            better = self._higher_priority()
            if better:
                self.record("hplmn_search", {"found": [c.plmn for c in better]})
                old = self.registered
                for cand in better:
                    if self._register(self._cell_for(cand), False) == "ok":
                        if old and old != self.registered and self.usim.imsi:
                            self.network.receive(DetachRequest(self.usim.imsi, old))
                        break
        self.settle()

    cdef list _higher_priority(self):
        """PLMNs ranked above the serving one (TS 23.122 §4.4.3.3)."""
        return sel.higher_priority_than(self.registered or "", self._candidate_tuple(), self.sim_lists())

    # ================================================================== toolkit
    def _settle(self):
        """Report location changes to the card and carry out what REFRESH asked for, until stable."""
        self.settle()

    cdef void settle(self):
        cdef int _
        for _ in range(16):
            if self._reinit:
                self._reinit = False
                self.select_and_register(True, False)
                continue
            if self._reselect:
                self._reselect = False
                self.reselect_after_change()
                continue
            if not self._report_location():
                return
        self.record("toolkit_loop", {"note": "location/refresh exchanges did not settle"})

    cdef bint _report_location(self):
        """Location status event (TS 102 223 §7.5.3) when PLMN, cell or service state changed."""
        if not self.powered or self.sim_state == "absent":
            return False
        service = self.service
        registered = self.registered
        cell = self.cell if service == S_NORMAL else None
        key = (service, registered, cell.area if cell else None, cell.cell_id if cell else None)
        if key == self._last_location_status:
            return False
        self._last_location_status = key
        sent = self._location_event
        self.record("location_status", {"status": service, "plmn": registered, "sent": sent})
        if not sent:
            return False
        # the service state decides the location status (TS 102 223 §8.27)
        self.proactive(self._link.sw(_location_envelope(service, registered if cell else None, cell)))
        return True

    def _proactive(self, int sw):
        """FETCH and answer proactive commands while the card has one pending (SW 91xx)."""
        self.proactive(sw)

    cdef void proactive(self, int sw):
        cdef int _
        cdef UiccLink link = self._link
        cdef bytes data
        if self._in_proactive:
            return
        self._in_proactive = True
        try:
            for _ in range(32):
                if sw >> 8 != 0x91:
                    return
                data, sw = link.fetch(sw & 0xFF)
                if sw != 0x9000 and sw >> 8 != 0x91:
                    return
                try:
                    fetched = _parse_proactive(data)
                except TlvError:
                    sw = self._terminal_response(b"\x01\x00\x00", R_DATA_NOT_UNDERSTOOD, (), b"")
                    continue
                sw = self._handle(fetched)
        finally:
            self._in_proactive = False

    cdef int _terminal_response(self, bytes details, object result, tuple objs, bytes additional):
        """TERMINAL RESPONSE (TS 102 223 §6.8) with a result and data objects; the status word."""
        return self._link.sw(_terminal_response_apdu(details, result, objs, additional))

    cdef int _success(self, Fetched f):
        """TERMINAL RESPONSE "command performed successfully" to ``f``."""
        return self._terminal_response(f.details, R_SUCCESS, (), b"")

    cdef int _handle(self, Fetched f):
        cdef int kind = f.type
        self.record("proactive", {"command": f"{kind:02X}", "qualifier": f.qualifier})
        if kind == CMD_SET_UP_EVENT_LIST:
            self.events = f.events
            self._last_location_status = None  # the current status is reported after registration
            return self._success(f)
        if kind == CMD_SET_UP_MENU:
            items, self.menu_title = f.menu
            self.menu = list(items)
            return self._success(f)
        if kind == CMD_PROVIDE_LOCAL_INFORMATION:
            return self._local_information(f)
        if kind == CMD_REFRESH:
            return self._refresh(f)
        if kind == CMD_DISPLAY_TEXT or kind == CMD_MORE_TIME:
            return self._success(f)
        return self._terminal_response(f.details, R_BEYOND_CAPABILITIES, (), b"")

    cdef int _local_information(self, Fetched f):
        """PROVIDE LOCAL INFORMATION (TS 102 223 §6.4.15, TS 31.111 §6.4.15)."""
        cdef int q = f.qualifier
        if q == INFO_LOCATION:
            cell = self.cell if self.service == S_NORMAL else self.camped
            if cell is None:
                return self._terminal_response(f.details, R_TERMINAL_UNABLE, (), NO_SERVICE_ADDITIONAL)
            obj = _location_object(cell)
            result = R_SUCCESS if self.service == S_NORMAL else R_LIMITED_SERVICE
            return self._terminal_response(f.details, result, (obj,), b"")
        if q == INFO_IMEI:
            imei = _imei_bytes((self.config.imei + "0" * 15)[:15])
            return self._terminal_response(f.details, R_SUCCESS, (stk.ctlv(stk.Tag.IMEI, imei),), b"")
        if q == INFO_ACCESS_TECHNOLOGY:
            cell = self.cell if self.service == S_NORMAL else self.camped
            if cell is None:
                return self._terminal_response(f.details, R_TERMINAL_UNABLE, (), NO_SERVICE_ADDITIONAL)
            act = stk.ctlv(stk.Tag.ACCESS_TECHNOLOGY, bytes([_ACCESS_TECHNOLOGY[cell.rat]]))
            return self._terminal_response(f.details, R_SUCCESS, (act,), b"")
        return self._terminal_response(f.details, R_BEYOND_CAPABILITIES, (), b"")

    cdef int _refresh(self, Fetched f):
        """REFRESH (TS 102 223 §6.4.7): re-read the USIM, detach and re-attach as the mode requires."""
        cdef int q = f.qualifier
        paths, fids = f.files
        self.refresh_count += 1
        self.record("refresh", {"qualifier": f.qualifier, "files": list(paths)})
        if q == REFRESH_UICC_RESET:
            # the terminal resets the UICC and runs the whole activation again; no TERMINAL RESPONSE
            self._detach("refresh (UICC reset)")
            self._link.transport.reset()
            self._sizes.clear()
            self._in_proactive = False
            self._initialise(True)
            self._in_proactive = True
            self._reinit = True
            return 0x9000
        if q == REFRESH_FCN:
            self._read_usim(fids)
            if EF_IMSI in fids:
                self._detach("refresh (IMSI changed)")
                self._reinit = True
            elif not _SELECTION_FILES.isdisjoint(fids):
                self._reselect = True
            return self._success(f)
        if q == REFRESH_STEERING_OF_ROAMING:
            self._read_usim(_SOR_FILES)
            self._detach("refresh (steering of roaming)")
            self._reinit = True
            return self._success(f)
        # NAA initialisation modes (00, 02, 03) and NAA application / session reset (05, 06)
        self._detach("refresh")
        self._initialise(False)
        self._reinit = True
        return self._success(f)

    cdef void _detach(self, str reason):
        if self.registered and self.usim.imsi:
            self.network.receive(DetachRequest(self.usim.imsi, self.registered))
            self.record("detach", {"plmn": self.registered, "reason": reason})
        self.registered = None
        self.cell = None
        self.packet = False
        self.service = S_LIMITED if self.camped else S_NONE
        self._last_location_status = None  # the re-registration is reported again

# cython: language_level=3, boundscheck=False, wraparound=False
"""State and event path of the roaming applet of :mod:`csim.roaming` (TS 102 223, TS 31.111).

:class:`RoamingCore` holds the applet's state and reacts to what the terminal sends most: the
TERMINAL PROFILE (SET UP EVENT LIST, SET UP MENU, PROVIDE LOCAL INFORMATION, §6.4.16 / §6.4.8 /
§6.4.15), the location status event (§7.5.3) and the responses to its own commands (§6.8).
The profile switch itself, the menu, the limited-service steps and persistence are in
:class:`csim.roaming.RoamingApplet`, which derives from it.
"""

from csim.cat cimport CompiledApplet, Toolkit

import weakref

from csim import stk
from csim.apdu import CardCore

# the codes of csim.stk as C values: event list (§8.25), location status (§8.27), type of
# command (§9.4), general result (§8.12) and its additional information (§8.12.2)
cdef int _EVENT_LOCATION_STATUS = stk.Event.LOCATION_STATUS
cdef int _NORMAL_SERVICE = stk.LocationStatus.NORMAL_SERVICE
cdef int _LIMITED_SERVICE = stk.LocationStatus.LIMITED_SERVICE
cdef int _SET_UP_EVENT_LIST = stk.Command.SET_UP_EVENT_LIST
cdef int _PROVIDE_LOCAL_INFORMATION = stk.Command.PROVIDE_LOCAL_INFORMATION
cdef int _SUCCESS = stk.Result.SUCCESS
cdef int _RESULT_LIMITED_SERVICE = stk.Result.LIMITED_SERVICE
cdef int _TERMINAL_UNABLE = stk.Result.TERMINAL_UNABLE
cdef int _UNABLE_NO_SERVICE = stk.UNABLE_NO_SERVICE

# the commands the applet issues whatever its configuration (numbered by the toolkit)
EVENT_LIST_COMMAND = stk.set_up_event_list([stk.Event.LOCATION_STATUS])
LOCAL_INFO_COMMAND = stk.provide_local_information(stk.LocalInfo.LOCATION)
MENU_TITLE = "Roaming profile"

cdef bytes _EVENT_LIST = EVENT_LIST_COMMAND
cdef bytes _LOCAL_INFO = LOCAL_INFO_COMMAND
cdef bytes _NO_SERVICE_INFO = bytes([_UNABLE_NO_SERVICE])
cdef object _EventDownload = stk.EventDownload
cdef object _parse_proactive = stk.parse_proactive
cdef object _set_up_menu = stk.set_up_menu
# the location status as reported after a PROVIDE LOCAL INFORMATION response
cdef object _STATUS_NORMAL = stk.LocationStatus.NORMAL_SERVICE
cdef object _STATUS_LIMITED = stk.LocationStatus.LIMITED_SERVICE
cdef object _STATUS_NONE = stk.LocationStatus.NO_SERVICE

# REFRESH qualifiers with a file list (§8.6)
cdef int _FCN = stk.Refresh.FCN
cdef int _NAA_INIT_FCN = stk.Refresh.NAA_INIT_FCN

ADF_USIM_FID = "7FF0"  # the USIM ADF of the card's file tree (csim.roaming.ADF_USIM)

cdef object _write_file = CardCore.write_file
cdef dict _refresh_commands = {}


def refresh_path(path: str) -> str:
    """Card path to REFRESH file-list form: the USIM ADF is named ``7FFF`` (TS 102 221 §8.4.2)."""
    parts = path.split("/")
    if len(parts) > 1 and parts[1].upper() == ADF_USIM_FID:
        parts[1] = "7FFF"
    return "/".join(parts)


cdef bytes _refresh_command(mode, paths):
    """REFRESH in ``mode`` (TS 102 223 §6.4.7), with the file list of ``paths`` for the FCN modes."""
    key = (int(mode), paths)
    cdef bytes command = _refresh_commands.get(key)
    if command is None:
        command = stk.refresh(mode, None if paths is None else [refresh_path(p) for p in paths])
        if len(_refresh_commands) >= 256:
            _refresh_commands.clear()
        _refresh_commands[key] = command
    return command


cdef object _UNKNOWN = object()  # not in a memo yet
cdef dict _profile_facilities = {}
cdef dict _command_types = {}


cdef tuple _facilities(profile):
    """What the applet can use of a terminal profile (TS 102 223 §5.2): the location status
    event (SET UP EVENT LIST), the menu (SET UP MENU + menu selection), PROVIDE LOCAL INFORMATION,
    REFRESH."""
    raw = profile.raw
    cdef tuple flags = _profile_facilities.get(raw)
    if flags is None:
        supports = profile.supports
        flags = (
            supports("set_up_event_list") and supports("event_location_status"),
            supports("set_up_menu") and supports("menu_selection"),
            supports("provide_local_information"),
            supports("refresh"),
        )
        if len(_profile_facilities) >= 256:
            _profile_facilities.clear()
        _profile_facilities[raw] = flags
    return flags


cpdef command_type(command):
    """Type of command of a ``D0`` proactive command (TS 102 223 §8.6)."""
    kind = _command_types.get(command) if type(command) is bytes else None
    if kind is None:
        kind = _parse_proactive(command).type
        if type(command) is bytes:
            if len(_command_types) >= 1024:
                _command_types.clear()
            _command_types[command] = kind
    return kind


cdef class RoamingCore(CompiledApplet):
    """The roaming applet's state and its event path (see :class:`csim.roaming.RoamingApplet`)."""

    cdef object _card  # a weak reference: the card owns the applet (through its toolkit)
    cdef public object policy
    cdef public list profiles
    cdef public object _files
    cdef public object _auth
    cdef public object _restore_auth
    cdef public object _active
    cdef public object _forced
    cdef public object _last_plmn
    cdef public object _last_status
    cdef public object _fallback  # (MCC, profile) chosen after limited service
    cdef public object _switch_count
    cdef public list _history
    cdef public dict _auths  # keys of the inactive profiles, with their SQN state
    cdef public object _events_registered
    cdef public dict _shared  # the SET UP MENU command (cards of one profile share it)
    cdef public dict _select  # PLMN -> policy.select(PLMN)
    cdef public object _select_policy
    cdef public dict _sizes  # EF path -> size, None when the card lacks it
    cdef public dict _writes  # profile -> the write list of a switch to it
    cdef object _profile  # the terminal profile of the last _facilities_of call, and its flags
    cdef tuple _flags

    @property
    def card(self):
        """The applet's card, None once it is gone (held weakly: the card owns the applet)."""
        return self._card()

    cpdef _start(self, card, policy, files, auth, active, restore_auth, dict shared, dict select,
                 dict sizes, dict writes):
        """Initial state (see :class:`csim.roaming.RoamingApplet`); ``shared`` (the menu),
        ``select`` (policy choices), ``sizes`` and ``writes`` may be shared with other cards."""
        self._card = weakref.ref(card)
        self.policy = policy
        self._files = files
        self._auth = auth
        self._restore_auth = restore_auth
        self.profiles = list(policy.profile_names)
        self._active = active if active is not None else self._detect_active()
        if self._active not in self.profiles:
            raise ValueError(f"active profile {self._active!r} is not in the policy")
        self._forced = None
        self._last_plmn = None
        self._last_status = None
        self._fallback = None
        self._switch_count = 0
        self._history = []
        self._auths = {}
        self._events_registered = False
        self._shared = shared
        self._select = select
        self._select_policy = policy
        self._sizes = sizes
        self._writes = writes

    cdef inline tuple _facilities_of(self, profile):
        """:func:`_facilities` of ``profile``, kept for the toolkit session's profile."""
        if profile is not self._profile:
            self._flags = _facilities(profile)
            self._profile = profile
        return self._flags

    cdef inline int _queue(self, toolkit, bytes command) except -1:
        if type(toolkit) is Toolkit:
            (<Toolkit>toolkit).queue(self, command)
        else:
            toolkit.queue(self, command)
        return 0

    cpdef terminal_profile(self, toolkit, profile):
        """TS 102 223 §6.4.16 / §6.4.8 / §6.4.15: register, offer the menu, ask where we are."""
        self._events_registered = False
        flags = self._facilities_of(profile)
        if flags[0]:
            self._queue(toolkit, _EVENT_LIST)
        if flags[1]:
            menu = self._shared.get("menu")
            if menu is None:
                menu = self._shared["menu"] = _set_up_menu(MENU_TITLE, self.menu_items())
            self._queue(toolkit, menu)
        priority = self.policy.priority
        if self._last_plmn is None and self._forced is None and self._active != priority:
            self._switch(toolkit, priority, "priority", None)
        if flags[2]:
            self._queue(toolkit, _LOCAL_INFO)

    cpdef envelope(self, toolkit, envelope):
        if type(envelope) is not _EventDownload and not isinstance(envelope, _EventDownload):
            return None
        cdef int event = envelope.event
        if event != _EVENT_LOCATION_STATUS:
            return None
        status = envelope.location_status
        assert status is not None  # parse_envelope guarantees it for this event
        self._location(toolkit, status, envelope.location, True)
        return b""

    cpdef terminal_response(self, toolkit, response, command):
        cdef int kind, result
        if type(toolkit) is Toolkit and (<Toolkit>toolkit)._answered is command:
            kind = (<Toolkit>toolkit)._answered_type  # the toolkit has the type at hand
        else:
            kind = command_type(command)
        if kind == _SET_UP_EVENT_LIST:
            self._events_registered = response.result < 0x10  # TerminalResponse.successful, §8.12
        elif kind == _PROVIDE_LOCAL_INFORMATION:
            result = response.result
            if result == _SUCCESS and response.location is not None:
                self._location(toolkit, _STATUS_NORMAL, response.location, False)
            elif result == _RESULT_LIMITED_SERVICE:
                self._location(toolkit, _STATUS_LIMITED, response.location, False)
            elif result == _TERMINAL_UNABLE and response.additional[:1] == _NO_SERVICE_INFO:
                self._last_status = _STATUS_NONE

    cdef int _location(self, toolkit, status, location, bint may_ask) except -1:
        """The serving PLMN and service state changed (TS 102 223 §7.5.3, §6.4.15)."""
        cdef int st = status
        self._last_status = status
        if location is not None:
            self._last_plmn = location.plmn
        if st == _NORMAL_SERVICE:
            if location is None:
                return 0
            plmn = location.plmn
            fallback = self._fallback
            if fallback is not None and fallback[0] != plmn[:3]:
                self._fallback = fallback = None
            if self._forced is not None:
                return 0
            if fallback is not None and fallback[1] == self._active:
                return 0
            target = self._selected(plmn)
            if target is not None and target != self._active:
                self._switch(toolkit, target, "location", plmn)
        elif st == _LIMITED_SERVICE:
            if self._forced is not None:
                return 0
            profile = (<Toolkit>toolkit).profile if type(toolkit) is Toolkit else toolkit.profile
            if location is None and may_ask and profile is not None and self._facilities_of(profile)[2]:
                self._queue(toolkit, _LOCAL_INFO)
                return 0
            plmn = location.plmn if location is not None else self._last_plmn
            if plmn is None:
                return 0
            mcc = plmn[:3]
            if self._fallback is not None and self._fallback[0] != mcc:
                self._fallback = None
            target = self._limited_service_target(mcc)
            if target is not None and target != self._active:
                self._fallback = (mcc, target)
                self._switch(toolkit, target, "limited service", plmn)
        return 0

    cpdef _selected(self, plmn):
        """``policy.select(plmn)``, remembered per PLMN while the policy object is the same."""
        cdef dict select = self._select
        if self._select_policy is not self.policy:
            select = self._select = {}
            self._select_policy = self.policy
        target = select.get(plmn, _UNKNOWN)
        if target is _UNKNOWN:
            target = select[plmn] = self.policy.select(plmn)
        return target

    cpdef _limited_service_target(self, mcc):
        """Profile to try after limited service in country ``mcc``, None to stay.

        Not yet stepping in this country and not on its first profile: the first. Otherwise the
        next entry for the same country after the active profile; none left: stay.
        """
        cdef tuple options = self.policy.candidate_names(mcc)
        cdef Py_ssize_t i
        if not options:
            return None
        fallback = self._fallback
        stepping = fallback is not None and fallback[0] == mcc
        active = self._active
        if active not in options or (not stepping and active != options[0]):
            return options[0]
        i = options.index(active)
        return options[i + 1] if i + 1 < len(options) else None

    # --- the switch --------------------------------------------------------------------------

    cpdef _switch(self, toolkit, target, reason, plmn):
        """Change the subscriber identity to ``target`` and ask the terminal to re-read (REFRESH).

        The writes are the write list of the last switch to ``target`` made from the same files
        (:meth:`csim.roaming.RoamingApplet._write_profile` makes one).
        """
        cdef int qualifier
        card = self._card()
        files = self._files(target)
        writes = self._writes.get(target)
        changed = None
        if writes is not None and writes[0] is files:
            try:
                if getattr(type(card), "write_file", None) is _write_file:
                    card.write_files(writes[1])
                else:
                    write = card.write_file
                    for path, data in writes[1]:
                        write(path, data)
                changed = writes[2]
            except (LookupError, ValueError):
                changed = None  # this card's file tree differs from the one the list was made on
        if changed is None:
            changed = self._write_profile(target, files)
        active = self._active
        self._auths[active] = card.auth
        new_auth = self._auths.pop(target, None)
        card.auth = new_auth if new_auth is not None else self._auth(target)
        self._history.append({"from": active, "to": target, "reason": reason, "plmn": plmn})
        self._active = target
        self._switch_count += 1
        profile = (<Toolkit>toolkit).profile if type(toolkit) is Toolkit else toolkit.profile
        if profile is not None and self._facilities_of(profile)[3]:
            mode = self.policy.refresh
            qualifier = mode
            if qualifier == _FCN or qualifier == _NAA_INIT_FCN:
                command = _refresh_command(mode, changed)
            else:
                command = _refresh_command(mode, None)
            self._queue(toolkit, command)

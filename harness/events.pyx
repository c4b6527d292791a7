# cython: language_level=3
"""The run's event log: APDUs, registrations, refreshes, alerts, blocks, bills.

One :class:`EventLog` per run, written by the terminal, the network and the plans alike;
scenarios assert on it, failures print its tail and the report draws it.
``log.record(kind, **fields)`` appends an :class:`Event`; ``log.time`` is the simulated clock
(seconds). Compiled modules append through :func:`record_event` and :func:`record_apdu`.
"""

cimport cython
from cpython.list cimport PyList_GET_SIZE


@cython.no_gc  # plain values only (bytes, numbers, strings, lists of them): no reference cycles
@cython.freelist(256)
cdef class Event:
    """One thing that happened: a kind, the simulated time, and its fields (``data``)."""

    def __init__(self, seq, time, kind, data):
        self.seq = seq
        self.time = time
        self.kind = kind
        self._data = data

    @property
    def data(self):
        if self._data is None:
            self._data = {"command": self._command, "response": self._response}
        return self._data

    @data.setter
    def data(self, value):
        self._data = value

    def __getitem__(self, key):
        if self._data is None:  # an APDU record read without building its fields
            if key == "command":
                return self._command
            if key == "response":
                return self._response
        return self.data[key]

    def get(self, key, default=None):
        if self._data is None:
            if key == "command":
                return self._command
            if key == "response":
                return self._response
            return default
        return self._data.get(key, default)

    def __repr__(self):
        fields = " ".join(f"{k}={_short(v)}" for k, v in self.data.items())
        return f"#{self.seq} t={self.time:g} {self.kind} {fields}".rstrip()


def _short(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex().upper()
    return str(value)


cdef class EventLog:
    """Append-only, ordered log of :class:`Event` with a simulated clock (``time``, seconds)."""

    def __init__(self):
        self._events = []
        self.time = 0.0

    def record(self, kind, **data):
        """Append an event of ``kind`` with the fields ``data``; returns it."""
        return record_event(self, kind, data)

    def record_apdu(self, command, response):
        """An ``apdu`` event (``command``, ``response``): the transports' per-command record."""
        return apdu_event(self, command, response)

    def __iter__(self):
        return iter(self._events)

    def __len__(self):
        return PyList_GET_SIZE(self._events)

    @cython.wraparound(True)
    @cython.boundscheck(True)
    def __getitem__(self, index):
        return self._events[index]

    def of_kind(self, *kinds, since=0):
        """The events of the given kinds, from position ``since`` on (negative: from the end)."""
        cdef list events = self._events
        cdef Py_ssize_t n = PyList_GET_SIZE(events)
        cdef Py_ssize_t i = since
        cdef list out = []
        cdef Event ev
        cdef object k
        if i < 0:
            i = max(n + i, 0)
        if len(kinds) == 1:
            kind = kinds[0]
            if type(kind) is str:
                while i < n:
                    ev = events[i]
                    k = ev.kind
                    if k is kind or (type(k) is str and <str>k == <str>kind):
                        out.append(ev)
                    i += 1
                return out
            while i < n:
                ev = events[i]
                if ev.kind is kind or ev.kind == kind:
                    out.append(ev)
                i += 1
            return out
        while i < n:
            ev = events[i]
            if ev.kind in kinds:
                out.append(ev)
            i += 1
        return out

    @cython.wraparound(True)
    @cython.boundscheck(True)
    def tail(self, n=20, kinds=None):
        """The last ``n`` events (of the given kinds only, when given), oldest first."""
        if kinds is None:
            return self._events[-n:]
        if n <= 0:
            return [e for e in self._events if e.kind in kinds][-n:]
        cdef list events = self._events
        cdef list out = []
        cdef Py_ssize_t i = PyList_GET_SIZE(events) - 1
        cdef Event ev
        while i >= 0 and len(out) < n:
            ev = events[i]
            if ev.kind in kinds:
                out.append(ev)
            i -= 1
        out.reverse()
        return out

    def mark(self):
        """A position to pass as ``since=`` to look only at what happens next."""
        return PyList_GET_SIZE(self._events)


cdef inline list stamp(object log, Event ev):
    """Give ``ev`` the log's clock and next position; returns the log's list to append it to."""
    cdef list events
    if isinstance(log, EventLog):
        events = (<EventLog>log)._events
        ev.time = (<EventLog>log).time
    else:
        events = log._events
        ev.time = log.time
    ev.seq = PyList_GET_SIZE(events)
    return events


cdef Event record_event(object log, object kind, dict data):
    """Append an event of ``kind`` with the fields ``data`` to an :class:`EventLog`."""
    cdef Event ev = Event.__new__(Event)
    cdef list events = stamp(log, ev)
    ev.kind = kind
    ev._data = data
    events.append(ev)
    return ev


cdef void record_apdu(object log, bytes command, bytes response):
    """Append an ``apdu`` event (``command``, ``response``) to an :class:`EventLog`."""
    cdef Event ev = Event.__new__(Event)
    cdef list events = stamp(log, ev)
    ev.kind = "apdu"
    ev._command = command
    ev._response = response
    events.append(ev)


def apdu_event(log, command, response):
    """Record one ``apdu`` event in ``log`` and return it (the transports' per-command record)."""
    cdef list events = log._events
    record_apdu(log, command, response)
    return events[PyList_GET_SIZE(events) - 1]

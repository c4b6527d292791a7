# C-level interface of csim/cat.pyx (the proactive UICC runtime), for the core and the applets.

cdef class Template:
    cdef readonly bytes canonical
    cdef readonly tuple positions
    cdef readonly bint regular
    cdef readonly object type
    cdef readonly tuple menu
    cdef dict _numbered

    cpdef bytes numbered(self, int number)


cdef class Entry:
    cdef readonly str owner
    cdef readonly bytes command
    cdef readonly int number
    cdef readonly Template template
    cdef object applet  # the applet that queued it, None for a restored entry


cdef class CompiledApplet:
    cpdef terminal_profile(self, toolkit, profile)
    cpdef envelope(self, toolkit, envelope)
    cpdef terminal_response(self, toolkit, response, command)


cdef class Toolkit:
    cdef object _card  # a weak reference: the card owns its runtime
    cdef public object profile
    cdef public list applets
    cdef public list _queue
    cdef public Entry _outstanding
    cdef public dict _menu
    cdef public int _number
    cdef void* _core  # the card whose pending-length field _slot points into (see attach)
    cdef int* _slot
    cdef bytes _answered  # the command whose TERMINAL RESPONSE the applet is given
    cdef int _answered_type  # and its type of command

    cdef int attach(self, object core, int* slot) except -1
    cpdef applet(self, str name)
    cdef object _owner(self, Entry entry)
    cpdef bint queue(self, owner, command) except -1
    cdef int _pending(self)
    cdef int _signal(self) except -1
    cpdef terminal_profile(self, data)
    cpdef tuple envelope(self, data)
    cpdef fetch(self)
    cpdef int terminal_response(self, data) except -1
    cpdef reset(self)

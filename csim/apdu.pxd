# cython: language_level=3
"""C-level interface of :mod:`csim.apdu`: the card core's state and its APDU entry point.

Compiled modules of the terminal (:mod:`harness.terminal.link`) call :meth:`CardCore.respond` with
the command bytes directly; Python code uses ``CardCore.transmit``.
"""

from csim.cat cimport Toolkit
from csim.milenage cimport UsimAuth

cdef enum:
    NCHAN = 4          # basic channel + logical channels 1-3 (TS 102 221 §8.6)
    MAXPIN = 8
    PEND_MAX = 512
    OUT_MAX = 512

ctypedef struct Node:
    int fid
    int kind
    int structure
    int parent
    int first_child
    int next_sibling
    int store          # node owning the storage (itself unless linked)
    int offset         # into CardCore.data
    int size           # transparent: bytes; record EFs: rec_len * nrec
    int rec_len
    int nrec
    int head           # cyclic EFs (on the storage node): physical index of record 1
    int sfi            # 0 = none
    int ac_read
    int ac_update
    int arr_fid
    int arr_rec
    int lcsi
    int aid_len
    unsigned char aid[16]

ctypedef struct Channel:
    bint open
    int df             # current DF / ADF / MF
    int ef             # current EF or -1
    int rec            # current record (logical, 1-based), 0 = none
    int adf            # current application or -1
    int aid_sel        # ADF last selected by DF name (occurrence "next"/"previous")
    int applet         # index in CardCore.applets of the applet selected on the channel, or -1

ctypedef struct Pin:
    int key_ref
    unsigned char value[8]
    unsigned char puk[8]
    bint has_puk
    int attempts
    int max_attempts
    int puk_attempts
    int max_puk_attempts
    bint enabled
    bint verified


cdef class FileWrites:
    cdef int n
    cdef int nnodes
    cdef int* node         # per write: node index, and its FID, size and offset when resolved
    cdef list data         # bytes padded to the EF's size
    cdef tuple writes      # the (path, data) pairs


cdef class CardCore:
    cdef Node* nodes
    cdef int nnodes
    cdef unsigned char* data
    cdef int data_len
    cdef Channel ch[NCHAN]
    cdef Pin pins[MAXPIN]
    cdef int npins
    cdef int mf
    cdef int ust               # EF_UST of the first ADF, -1 if none
    cdef unsigned char pend[PEND_MAX]   # response data waiting for GET RESPONSE
    cdef int pend_len
    cdef unsigned char out[OUT_MAX]
    cdef int olen
    cdef int proactive
    cdef UsimAuth _auth
    cdef bytes _atr
    cdef dict _index           # upper-case path -> node index
    cdef list _paths
    cdef list _pin_names
    cdef unsigned long long n_apdu
    cdef unsigned long long n_auth
    cdef unsigned long long n_sync
    cdef unsigned long long n_mac
    cdef public object toolkit
    cdef object __weakref__    # the toolkit and its applets refer back to the card weakly
    cdef public tuple applets  # applications selected by AID that have no file system (GlobalPlatform)
    cdef bytes _applet_out     # an applet's case 2 response announced by 6Cxx, for the repeated command
    cdef long _applet_hdr      # CLA INS P1 P2 of that command, -1 if none

    cdef _build(self, image)
    cdef _load_pin(self, int i, ps)
    cdef void _reset_state(self) noexcept
    cdef inline int child_fid(self, int df, int fid) noexcept
    cdef int find_fid(self, Channel* c, int fid, bint gsm) noexcept
    cdef int find_sfi(self, int df, int sfi) noexcept
    cdef inline void set_current(self, Channel* c, int i) noexcept
    cdef inline int pin_index(self, int key_ref) noexcept
    cdef inline bint ac_ok(self, int ac) noexcept
    cdef inline unsigned char* rec_ptr(self, Node* nd, int rec) noexcept
    cdef inline bint ust_service(self, int n) noexcept
    cdef inline int set_pending(self, const unsigned char* src, int n, bint gsm) noexcept
    cdef inline int out_data(self, const unsigned char* src, int n, int le) noexcept
    cdef int fcp(self, int i, unsigned char* o) noexcept
    cdef int gsm_response(self, int i, unsigned char* o) noexcept
    cdef inline int gsm_ac(self, int ac) noexcept
    cdef int process(self, const unsigned char* a, Py_ssize_t n) noexcept
    cdef bytes respond(self, const unsigned char* a, Py_ssize_t n)
    cdef int select(self, Channel* c, int p1, int p2, const unsigned char* d, int nc) noexcept
    cdef int find_path(self, Channel* c, int p1, const unsigned char* d, int nc) noexcept
    cdef int match_aid(self, const unsigned char* d, int nc, int start, int step) noexcept
    cdef int status(self, Channel* c, int p1, int p2, int p3, int nc) noexcept
    cdef int get_response(self, int p1, int p2, int p3, int nc, bint gsm) noexcept
    cdef inline int ef_for(self, Channel* c, int sfi) noexcept
    cdef inline int binary_ef(self, Channel* c, int p1, int p2, bint gsm, int* off) noexcept
    cdef inline Node* access_ef(self, int i, bint records, bint update, int* sw) noexcept
    cdef int rd_binary(self, Channel* c, int p1, int p2, int p3, int nc, bint gsm) noexcept
    cdef int up_binary(self, Channel* c, int p1, int p2, const unsigned char* d, int nc, bint gsm) noexcept
    cdef inline int record_ef(self, Channel* c, int p2, bint gsm) noexcept
    cdef int rd_record(self, Channel* c, int p1, int p2, int p3, int nc, bint gsm) noexcept
    cdef inline int step_record(self, Channel* c, Node* nd, int mode) noexcept
    cdef int up_record(self, Channel* c, int p1, int p2, const unsigned char* d, int nc, bint gsm) noexcept
    cdef int search_record(self, Channel* c, int p1, int p2, const unsigned char* d, int nc) noexcept
    cdef int increase(self, Channel* c, int p1, int p2, const unsigned char* d, int nc, bint gsm) noexcept
    cdef int life_cycle(self, Channel* c, int ins, int p1, int p2, const unsigned char* d, int nc) noexcept
    cdef int terminal_capability(self, int p1, int p2, const unsigned char* d, int nc) noexcept
    cdef int file_admin(self, Channel* c, int ins, int p1, int p2, const unsigned char* d, int nc) noexcept
    cdef int pin_cmd(self, int ins, int ref, int p3, const unsigned char* d, int nc) noexcept
    cdef int manage_channel(self, int origin, int p1, int p2, int p3, int nc) noexcept
    cdef int authenticate(self, Channel* c, int p1, int p2, const unsigned char* d, int nc) noexcept
    cdef int get_identity(self, Channel* c, int p1, int p2, int p3, int nc) noexcept
    cdef int select_applet(self, Channel* c, int p2, const unsigned char* d, int nc) noexcept
    cdef int applet_command(self, Channel* c, int cla, int ins, int p1, int p2, int p3,
                            const unsigned char* d, int nc) noexcept
    cdef int cat(self, int ins, int p1, int p2, int p3, const unsigned char* d, int nc, bint gsm) noexcept
    cdef int gsm(self, int ins, int p1, int p2, int p3, const unsigned char* d, int nc) noexcept
    cdef int _node(self, path) except -1
    cdef int _ef(self, path, int structure) except -1
    cdef int _write_file(self, path, data) except -1
    cdef bint _same_tree(self, FileWrites fw) noexcept

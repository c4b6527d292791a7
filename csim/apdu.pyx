# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The card core: UICC file system and APDU engine.

ETSI TS 102 221 (UICC commands, file system, FCP, status words, logical channels),
3GPP TS 31.102 (USIM AUTHENTICATE), 3GPP TS 51.011 (classic SIM view, CLA A0),
ETSI TS 102 221 §11.2 / TS 102 223 (CAT transport: TERMINAL PROFILE, ENVELOPE, FETCH,
TERMINAL RESPONSE).

Everything on the APDU path works on C structures: a flat array of file nodes linked as a
tree (first child / next sibling), one C buffer holding every EF's contents, per-channel
selection state and a small PIN table. ``transmit()`` builds exactly one Python object, the
returned ``bytes``.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcmp, memcpy, memmove, memset

from csim.image import ACCESS_CONDITIONS

cdef enum:
    K_MF = 0
    K_DF = 1
    K_ADF = 2
    K_EF = 3

cdef enum:
    S_NONE = 0
    S_TRANSPARENT = 1
    S_LINEAR = 2
    S_CYCLIC = 3

cdef enum:
    AC_ALW = 0
    AC_PIN1 = 1
    AC_PIN2 = 2
    AC_ADM1 = 3
    AC_NEV = 4

# a few status words (TS 102 221 §10.2.1)
cdef enum:
    SW_OK = 0x9000
    SW_WRONG_LENGTH = 0x6700
    SW_LC_P1P2 = 0x6A87
    SW_WRONG_P1P2 = 0x6B00
    SW_INS = 0x6D00
    SW_CLA = 0x6E00
    SW_TECH = 0x6F00
    SW_CHANNEL = 0x6881
    SW_SM = 0x6882
    SW_INCOMPATIBLE = 0x6981
    SW_SECURITY = 0x6982
    SW_BLOCKED = 0x6983
    SW_INVALIDATED = 0x6984
    SW_CONDITIONS = 0x6985
    SW_NO_EF = 0x6986
    SW_BAD_DATA = 0x6A80
    SW_FUNC = 0x6A81
    SW_NOT_FOUND = 0x6A82
    SW_NO_RECORD = 0x6A83
    SW_P1P2 = 0x6A86
    SW_REF_NOT_FOUND = 0x6A88
    SW_SEARCH_FAILED = 0x6282
    SW_AUTH_ERROR = 0x9862
    SW_MAX_VALUE = 0x9850
    SW_INVALIDATED_FILE = 0x6283

# instructions whose P3 is Lc (data sent to the card): P3 > 0 without data is a wrong length
cdef unsigned char DATA_IN[256]
memset(DATA_IN, 0, 256)
for _ins in (0xA4, 0xD6, 0xDC, 0xA2, 0x20, 0x24, 0x26, 0x28, 0x2C, 0x88, 0x10, 0xC2, 0x14,
             0x04, 0x44, 0x32, 0xAA, 0xE0, 0xE4, 0xD4):
    DATA_IN[_ins] = 1


cdef inline int gsm_sw(int sw) noexcept nogil:
    """Map a TS 102 221 status word onto its TS 51.011 §9.4 equivalent (CLA A0)."""
    cdef int hi = sw >> 8
    if sw == SW_OK or hi == 0x91 or hi == 0x92 or hi == 0x93 or hi == 0x94 or hi == 0x98 \
            or hi == 0x9F or hi == 0x6C or hi == 0x67:
        return sw
    if hi == 0x63:
        return 0x9804          # unsuccessful CHV verification, at least one attempt left
    if sw == SW_SECURITY:
        return 0x9804          # access condition not fulfilled
    if sw == SW_BLOCKED:
        return 0x9840          # CHV blocked
    if sw == SW_INVALIDATED or sw == SW_CONDITIONS:
        return 0x9808          # in contradiction with CHV status
    if sw == SW_NOT_FOUND or sw == SW_REF_NOT_FOUND or sw == SW_SEARCH_FAILED:
        return 0x9404          # file id / pattern not found
    if sw == SW_NO_RECORD:
        return 0x9402          # out of range (invalid address)
    if sw == SW_NO_EF:
        return 0x9400          # no EF selected
    if sw == SW_INCOMPATIBLE:
        return 0x9408          # file inconsistent with the command
    if sw == SW_P1P2 or sw == SW_WRONG_P1P2 or sw == SW_BAD_DATA or sw == SW_FUNC:
        return 0x6B00
    if sw == SW_INS or sw == SW_CLA or sw == SW_TECH:
        return sw
    return SW_TECH


cdef inline bint pin_format_ok(const unsigned char* p) noexcept nogil:
    """PIN value coding, TS 102 221 §9.5.2: 4 to 8 ASCII digits, right padded with FF."""
    cdef int i, n = 0
    for i in range(8):
        if p[i] == 0xFF:
            break
        if p[i] < 0x30 or p[i] > 0x39:
            return False
        n += 1
    for i in range(n, 8):
        if p[i] != 0xFF:
            return False
    return n >= 4


cdef class FileWrites:
    """Writes of transparent EFs resolved to the nodes of a card's file tree
    (:meth:`CardCore.resolve_writes`), each data padded with FF to its EF's size."""

    def __dealloc__(self):
        if self.node != NULL:
            free(self.node)

    @property
    def pairs(self) -> tuple:
        """The ``(path, data)`` pairs, as given."""
        return self.writes

    def __iter__(self):
        return iter(self.writes)

    def __len__(self) -> int:
        return len(self.writes)


cdef class CardCore:
    """File system and APDU engine of a UICC with a USIM application (TS 102 221, TS 31.102)."""

    def __cinit__(self, *args, **kwargs):
        self.nodes = NULL
        self.data = NULL
        self.nnodes = 0
        self.mf = -1
        self.ust = -1
        self.toolkit = None
        self.applets = ()
        self._applet_out = None
        self._applet_hdr = -1

    def __dealloc__(self):
        if self.nodes != NULL:
            free(self.nodes)
        if self.data != NULL:
            free(self.data)

    def __init__(self, image):
        """Build the file system, PINs and keys from a :class:`csim.image.CardImage`."""
        self._build(image)

    # ------------------------------------------------------------------ construction

    cdef _build(self, image):
        cdef Node* nd
        cdef Node* nodes
        cdef int i, j, last
        files = list(image.files)
        n = len(files)
        if n == 0:
            raise ValueError("card image has no files")
        index = {}
        for i in range(n):
            f = files[i]
            p = f.path.upper()
            if p in index:
                raise ValueError(f"duplicate file path {f.path}")
            index[p] = i
        if "3F00" not in index:
            raise ValueError("card image has no MF (3F00)")
        nodes = <Node*>calloc(n, sizeof(Node))
        if nodes == NULL:
            raise MemoryError()
        if self.nodes != NULL:
            free(self.nodes)
        self.nodes = nodes
        self.nnodes = n
        kinds = {"MF": K_MF, "DF": K_DF, "ADF": K_ADF, "EF": K_EF}
        structs = {"transparent": S_TRANSPARENT, "linear": S_LINEAR, "cyclic": S_CYCLIC}
        acs = {name: code for code, name in enumerate(ACCESS_CONDITIONS)}
        for i in range(n):
            f = files[i]
            nd = &nodes[i]
            if f.kind not in kinds:
                raise ValueError(f"{f.path}: unknown kind {f.kind!r}")
            nd.kind = kinds[f.kind]
            nd.fid = f.fid
            nd.first_child = -1
            nd.next_sibling = -1
            nd.store = i
            nd.lcsi = f.lcsi
            nd.arr_rec = f.arr_record
            if f.read not in acs or f.update not in acs:
                raise ValueError(f"{f.path}: unknown access condition")
            nd.ac_read = acs[f.read]
            nd.ac_update = acs[f.update]
            nd.sfi = f.sfi or 0
            if not 0 <= nd.sfi < 31:
                raise ValueError(f"{f.path}: SFI out of range")
            aid = bytes(f.aid or b"")
            if len(aid) > 16 or (nd.kind == K_ADF and len(aid) < 1):
                raise ValueError(f"{f.path}: an ADF needs an AID of 1..16 bytes")
            nd.aid_len = len(aid)
            for j in range(len(aid)):
                nd.aid[j] = aid[j]
            p = f.path.upper()
            if "/" in p:
                parent = p.rsplit("/", 1)[0]
                if parent not in index:
                    raise ValueError(f"{f.path}: parent {parent} missing")
                nd.parent = index[parent]
                if kinds[files[nd.parent].kind] == K_EF:
                    raise ValueError(f"{f.path}: parent is an EF")
            else:
                if nd.kind != K_MF:
                    raise ValueError(f"{f.path}: only the MF sits at the root")
                nd.parent = -1
            if nd.kind == K_EF:
                if f.structure not in structs:
                    raise ValueError(f"{f.path}: unknown structure {f.structure!r}")
                nd.structure = structs[f.structure]
        self.mf = index["3F00"]
        # children lists, in image order
        for i in range(n):
            if nodes[i].parent < 0:
                continue
            j = nodes[i].parent
            if nodes[j].first_child < 0:
                nodes[j].first_child = i
            else:
                last = nodes[j].first_child
                while nodes[last].next_sibling >= 0:
                    last = nodes[last].next_sibling
                nodes[last].next_sibling = i
        # storage
        total = 0
        blobs = {}
        for i in range(n):
            f = files[i]
            nd = &nodes[i]
            if nd.kind != K_EF or f.link:
                continue
            if nd.structure == S_TRANSPARENT:
                blob = bytes(f.data)
                nd.size = len(blob)
            else:
                recs = [bytes(r) for r in f.records]
                rl = f.record_length or max((len(r) for r in recs), default=0)
                if rl <= 0 or rl > 255 or len(recs) > 254 or not recs:
                    raise ValueError(f"{f.path}: record EF needs 1..254 records of 1..255 bytes")
                for r in recs:
                    if len(r) > rl:
                        raise ValueError(f"{f.path}: record longer than {rl} bytes")
                blob = b"".join(r + b"\xff" * (rl - len(r)) for r in recs)
                nd.rec_len = rl
                nd.nrec = len(recs)
                nd.size = len(blob)
            if nd.size > 0x7FFF:
                raise ValueError(f"{f.path}: file too large")
            nd.offset = total
            total += nd.size
            blobs[i] = blob
        for i in range(n):
            f = files[i]
            if nodes[i].kind != K_EF or not f.link:
                continue
            j = i
            seen = set()
            while files[j].link:
                if j in seen:
                    raise ValueError(f"{f.path}: circular link")
                seen.add(j)
                target = files[j].link.upper()
                if target not in index:
                    raise ValueError(f"{f.path}: linked file {files[j].link} missing")
                j = index[target]
            if nodes[j].kind != K_EF or nodes[j].structure != nodes[i].structure:
                raise ValueError(f"{f.path}: linked file has another structure")
            nodes[i].store = j
            nodes[i].offset = nodes[j].offset
            nodes[i].size = nodes[j].size
            nodes[i].rec_len = nodes[j].rec_len
            nodes[i].nrec = nodes[j].nrec
        buf = <unsigned char*>malloc(total if total > 0 else 1)
        if buf == NULL:
            raise MemoryError()
        if self.data != NULL:
            free(self.data)
        self.data = buf
        self.data_len = total
        for i, blob in blobs.items():
            if len(blob):
                memcpy(buf + nodes[i].offset, <const unsigned char*>blob, len(blob))
        # EF_ARR referenced by each file's FCP (tag 8B): nearest EF_ARR up the tree
        for i in range(n):
            j = nodes[i].parent if nodes[i].kind != K_MF else i
            nodes[i].arr_fid = 0x2F06
            while j >= 0:
                k = self.child_fid(j, 0x6F06)
                if k < 0:
                    k = self.child_fid(j, 0x2F06)
                if k >= 0 and nodes[k].kind == K_EF:
                    nodes[i].arr_fid = nodes[k].fid
                    break
                j = nodes[j].parent
        self.ust = -1
        for i in range(n):
            if nodes[i].kind == K_ADF:
                self.ust = self.child_fid(i, 0x6F38)
                break
        # PINs
        specs = list(image.pins)
        if len(specs) > MAXPIN:
            raise ValueError("too many PINs")
        self.npins = len(specs)
        self._pin_names = []
        for i, ps in enumerate(specs):
            self._load_pin(i, ps)
            self._pin_names.append(ps.name)
        self._index = index
        self._paths = [f.path.upper() for f in files]
        self._atr = bytes(image.atr)
        if image.auth is not None:
            a = image.auth
            self._auth = UsimAuth(a.ki, a.opc, sqn=a.sqn if a.sqn_array else (a.sqn or None),
                                  sqn_array=a.sqn_array or None, algorithm=a.algorithm)
        else:
            self._auth = None
        self.proactive = 0
        self.n_apdu = self.n_auth = self.n_sync = self.n_mac = 0
        self._reset_state()

    cdef _load_pin(self, int i, ps):
        cdef Pin* p = &self.pins[i]
        v = bytes(ps.value)
        if len(v) > 8:
            raise ValueError(f"{ps.name}: value longer than 8 bytes")
        v = v + b"\xff" * (8 - len(v))
        memcpy(p.value, <const unsigned char*>v, 8)
        p.key_ref = ps.key_ref
        p.has_puk = ps.puk is not None
        memset(p.puk, 0xFF, 8)
        if p.has_puk:
            u = bytes(ps.puk)
            if len(u) > 8:
                raise ValueError(f"{ps.name}: PUK longer than 8 bytes")
            memcpy(p.puk, <const unsigned char*>u, len(u))
        p.attempts = ps.attempts
        p.max_attempts = ps.max_attempts
        p.puk_attempts = ps.puk_attempts
        p.max_puk_attempts = ps.max_puk_attempts
        p.enabled = ps.enabled
        p.verified = False
        if not (0 <= p.attempts <= p.max_attempts <= 15 and 0 <= p.puk_attempts <= p.max_puk_attempts <= 15):
            raise ValueError(f"{ps.name}: retry counters out of range (0..15)")

    cdef void _reset_state(self) noexcept:
        cdef int i
        for i in range(NCHAN):
            self.ch[i].open = i == 0
            self.ch[i].df = self.mf
            self.ch[i].ef = -1
            self.ch[i].rec = 0
            self.ch[i].adf = -1
            self.ch[i].aid_sel = -1
            self.ch[i].applet = -1
        for i in range(self.npins):
            self.pins[i].verified = False
        self._applet_hdr = -1
        self.pend_len = 0
        self.olen = 0

    # ------------------------------------------------------------------ tree helpers

    cdef inline int child_fid(self, int df, int fid) noexcept:
        cdef int i = self.nodes[df].first_child
        while i >= 0:
            if self.nodes[i].fid == fid:
                return i
            i = self.nodes[i].next_sibling
        return -1

    cdef int find_fid(self, Channel* c, int fid, bint gsm) noexcept:
        """Selection by file identifier, TS 102 221 §8.4.1 / TS 51.011 §6.5: a child of the
        current DF, the current DF, its parent, a DF that is a child of the parent, the MF; the
        current ADF by '7FFF' (UICC); a DF that is a child of the MF (SIM view). An ADF is never
        selected in the SIM view."""
        cdef int df = c.df
        cdef int p = self.nodes[df].parent
        cdef int i
        if fid == 0x3F00:
            return self.mf
        if fid == 0x7FFF:
            return -1 if gsm else c.adf
        if self.nodes[df].fid == fid:
            return df
        i = self.child_fid(df, fid)
        if i < 0 and p >= 0:
            if self.nodes[p].fid == fid:
                return p
            i = self.child_fid(p, fid)
            if i >= 0 and self.nodes[i].kind == K_EF:
                i = -1
        if i < 0 and gsm:
            i = self.child_fid(self.mf, fid)
            if i >= 0 and self.nodes[i].kind != K_DF:
                i = -1
        if gsm and i >= 0 and self.nodes[i].kind == K_ADF:
            return -1
        return i

    cdef int find_sfi(self, int df, int sfi) noexcept:
        cdef int i = self.nodes[df].first_child
        while i >= 0:
            if self.nodes[i].kind == K_EF and self.nodes[i].sfi == sfi:
                return i
            i = self.nodes[i].next_sibling
        return -1

    cdef inline void set_current(self, Channel* c, int i) noexcept:
        if self.nodes[i].kind == K_EF:
            c.df = self.nodes[i].parent
            if c.ef != i:
                c.rec = 0
            c.ef = i
        else:
            c.df = i
            c.ef = -1
            c.rec = 0
            if self.nodes[i].kind == K_ADF:
                c.adf = i

    cdef inline int pin_index(self, int key_ref) noexcept:
        cdef int i
        for i in range(self.npins):
            if self.pins[i].key_ref == key_ref:
                return i
        return -1

    cdef inline bint ac_ok(self, int ac) noexcept:
        """Access condition check (TS 102 221 §9.2); a disabled PIN counts as satisfied."""
        cdef int i
        if ac == AC_ALW:
            return True
        if ac == AC_NEV:
            return False
        if ac == AC_PIN1:
            i = self.pin_index(0x01)
        elif ac == AC_PIN2:
            i = self.pin_index(0x81)
        else:
            i = self.pin_index(0x0A)
        if i < 0:
            return False
        return self.pins[i].verified or (ac != AC_ADM1 and not self.pins[i].enabled)

    cdef inline unsigned char* rec_ptr(self, Node* nd, int rec) noexcept:
        """Address of logical record ``rec`` (1-based); cyclic EFs rotate (record 1 = newest)."""
        cdef Node* st = &self.nodes[nd.store]
        cdef int phys = rec - 1
        if st.structure == S_CYCLIC:
            phys = (st.head + rec - 1) % st.nrec
        return self.data + st.offset + phys * st.rec_len

    cdef inline bint ust_service(self, int n) noexcept:
        cdef Node* nd
        cdef int byte = (n - 1) >> 3
        if self.ust < 0:
            return False
        nd = &self.nodes[self.ust]
        if byte >= nd.size:
            return False
        return (self.data[nd.offset + byte] >> ((n - 1) & 7)) & 1

    # ------------------------------------------------------------------ response helpers

    cdef inline int set_pending(self, const unsigned char* src, int n, bint gsm) noexcept:
        """Case-4 response data under T=0: keep it for GET RESPONSE, answer 61xx (9Fxx for GSM)."""
        if n > 256:
            n = 256
        memcpy(self.pend, src, n)
        self.pend_len = n
        return (0x9F00 if gsm else 0x6100) | (n & 0xFF)

    cdef inline int out_data(self, const unsigned char* src, int n, int le) noexcept:
        """Case-2 response: exact Le or 6Cxx (TS 102 221 §7.3.1.1.5)."""
        if le == 0:
            le = 256
        if le != n:
            return 0x6C00 | (n & 0xFF)
        memcpy(self.out, src, n)
        self.olen = n
        return SW_OK

    # ------------------------------------------------------------------ FCP

    cdef int fcp(self, int i, unsigned char* o) noexcept:
        """FCP template, TS 102 221 §11.1.1.3 (tags 82 83 84 A5 8A 8B C6 / 80 88)."""
        cdef Node* nd = &self.nodes[i]
        cdef int n = 2, k, j, start, bits, cnt
        cdef int refs[MAXPIN]
        o[0] = 0x62
        if nd.kind != K_EF:
            o[n] = 0x82
            o[n + 1] = 2
            o[n + 2] = 0x78
            o[n + 3] = 0x21
            n += 4
            o[n] = 0x83
            o[n + 1] = 2
            o[n + 2] = nd.fid >> 8
            o[n + 3] = nd.fid & 0xFF
            n += 4
            if nd.kind == K_ADF:
                o[n] = 0x84
                o[n + 1] = nd.aid_len
                memcpy(o + n + 2, nd.aid, nd.aid_len)
                n += 2 + nd.aid_len
            # proprietary information: UICC characteristics (MF/ADF), available memory
            start = n
            o[n] = 0xA5
            n += 2
            if nd.kind != K_DF:
                o[n] = 0x80
                o[n + 1] = 1
                o[n + 2] = 0x71
                n += 3
            k = 0x10000 - self.data_len if self.data_len < 0x10000 else 0
            o[n] = 0x83
            o[n + 1] = 4
            o[n + 2] = 0
            o[n + 3] = (k >> 16) & 0xFF
            o[n + 4] = (k >> 8) & 0xFF
            o[n + 5] = k & 0xFF
            n += 6
            o[start + 1] = n - start - 2
            o[n] = 0x8A
            o[n + 1] = 1
            o[n + 2] = nd.lcsi
            n += 3
            o[n] = 0x8B
            o[n + 1] = 3
            o[n + 2] = nd.arr_fid >> 8
            o[n + 3] = nd.arr_fid & 0xFF
            o[n + 4] = nd.arr_rec
            n += 5
            # PIN status template DO (TS 102 221 §9.5.2): PS_DO bitmap then key references
            cnt = 0
            for j in range(self.npins):
                if nd.kind == K_ADF or self.pins[j].key_ref < 0x80:
                    refs[cnt] = j
                    cnt += 1
            start = n
            o[n] = 0xC6
            n += 2
            bits = 0
            for j in range(cnt):
                if self.pins[refs[j]].enabled:
                    bits |= 0x80 >> j
            o[n] = 0x90
            o[n + 1] = 1
            o[n + 2] = bits
            n += 3
            for j in range(cnt):
                o[n] = 0x83
                o[n + 1] = 1
                o[n + 2] = self.pins[refs[j]].key_ref
                n += 3
            o[start + 1] = n - start - 2
        else:
            o[n] = 0x82
            if nd.structure == S_TRANSPARENT:
                o[n + 1] = 2
                o[n + 2] = 0x41
                o[n + 3] = 0x21
                n += 4
            else:
                o[n + 1] = 5
                o[n + 2] = 0x42 if nd.structure == S_LINEAR else 0x46
                o[n + 3] = 0x21
                o[n + 4] = 0
                o[n + 5] = nd.rec_len
                o[n + 6] = nd.nrec
                n += 7
            o[n] = 0x83
            o[n + 1] = 2
            o[n + 2] = nd.fid >> 8
            o[n + 3] = nd.fid & 0xFF
            n += 4
            o[n] = 0x8A
            o[n + 1] = 1
            o[n + 2] = nd.lcsi
            n += 3
            o[n] = 0x8B
            o[n + 1] = 3
            o[n + 2] = nd.arr_fid >> 8
            o[n + 3] = nd.arr_fid & 0xFF
            o[n + 4] = nd.arr_rec
            n += 5
            o[n] = 0x80
            o[n + 1] = 2
            o[n + 2] = nd.size >> 8
            o[n + 3] = nd.size & 0xFF
            n += 4
            o[n] = 0x88
            if nd.sfi:
                o[n + 1] = 1
                o[n + 2] = nd.sfi << 3
                n += 3
            else:
                o[n + 1] = 0
                n += 2
        o[1] = n - 2
        return n

    cdef int gsm_response(self, int i, unsigned char* o) noexcept:
        """GET RESPONSE data of SELECT in the SIM view, TS 51.011 §9.2.1."""
        cdef Node* nd = &self.nodes[i]
        cdef int ndf = 0, nef = 0, j, k, cnt, free_mem
        cdef Pin* p
        memset(o, 0, 22)
        o[4] = nd.fid >> 8
        o[5] = nd.fid & 0xFF
        if nd.kind == K_EF:
            o[2] = nd.size >> 8
            o[3] = nd.size & 0xFF
            o[6] = 0x04
            o[8] = (self.gsm_ac(nd.ac_read) << 4) | self.gsm_ac(nd.ac_update)
            o[9] = 0xFF if nd.structure != S_CYCLIC else (self.gsm_ac(nd.ac_update) << 4) | 0x0F
            o[10] = 0x44                # REHABILITATE / INVALIDATE: ADM
            o[11] = 0x01 if nd.lcsi == 0x05 else 0x00
            o[12] = 2
            o[13] = 0x00 if nd.structure == S_TRANSPARENT else (0x01 if nd.structure == S_LINEAR else 0x03)
            o[14] = nd.rec_len
            return 15
        free_mem = 0x10000 - self.data_len if self.data_len < 0x10000 else 0
        o[2] = (free_mem >> 8) & 0xFF
        o[3] = free_mem & 0xFF
        o[6] = 0x01 if nd.kind == K_MF else 0x02
        o[12] = 9
        j = self.pin_index(0x01)
        o[13] = 0x01 | (0x80 if (j >= 0 and not self.pins[j].enabled) else 0)
        k = nd.first_child
        while k >= 0:
            if self.nodes[k].kind == K_EF:
                nef += 1
            elif self.nodes[k].kind == K_DF:
                ndf += 1
            k = self.nodes[k].next_sibling
        o[14] = ndf
        o[15] = nef
        cnt = 0
        for j in range(self.npins):
            cnt += 2 if self.pins[j].has_puk else 1
        o[16] = cnt
        j = self.pin_index(0x01)
        if j >= 0:
            p = &self.pins[j]
            o[18] = 0x80 | p.attempts
            o[19] = (0x80 | p.puk_attempts) if p.has_puk else 0
        j = self.pin_index(0x81)
        if j >= 0:
            p = &self.pins[j]
            o[20] = 0x80 | p.attempts
            o[21] = (0x80 | p.puk_attempts) if p.has_puk else 0
        return 22

    cdef inline int gsm_ac(self, int ac) noexcept:
        """Access condition nibble, TS 51.011 §9.3: 0 ALW, 1 CHV1, 2 CHV2, 4 ADM, F NEV."""
        if ac == AC_ALW:
            return 0
        if ac == AC_PIN1:
            return 1
        if ac == AC_PIN2:
            return 2
        if ac == AC_ADM1:
            return 4
        return 0xF

    # ------------------------------------------------------------------ APDU entry point

    def transmit(self, apdu):
        """Send one command APDU; returns response data followed by SW1 SW2. Never raises."""
        if type(apdu) is not bytes:
            try:
                apdu = bytes(apdu)
            except Exception:
                return b"\x67\x00"
        return self.respond(<const unsigned char*>PyBytes_AS_STRING(apdu), PyBytes_GET_SIZE(apdu))

    cdef bytes respond(self, const unsigned char* a, Py_ssize_t n):
        """:meth:`transmit` for compiled callers: the command's ``n`` bytes at ``a``."""
        cdef int sw = self.process(a, n)
        if sw == SW_OK and self.proactive > 0:
            sw = 0x9100 | (self.proactive & 0xFF)
        self.out[self.olen] = sw >> 8
        self.out[self.olen + 1] = sw & 0xFF
        return PyBytes_FromStringAndSize(<char*>self.out, self.olen + 2)

    cdef int process(self, const unsigned char* a, Py_ssize_t n) noexcept:
        cdef int cla, ins, p1, p2, p3, nc, chan
        cdef const unsigned char* d = NULL
        cdef Channel* c
        self.olen = 0
        self.n_apdu += 1
        if n < 4:
            self.pend_len = 0
            return SW_WRONG_LENGTH
        cla = a[0]
        ins = a[1]
        p1 = a[2]
        p2 = a[3]
        if ins != 0xC0:
            self.pend_len = 0
        if n == 4:
            p3 = 0
            nc = 0
        elif n == 5:
            p3 = a[4]
            nc = 0
            if p3 != 0 and DATA_IN[ins]:
                return SW_WRONG_LENGTH
        else:
            p3 = a[4]
            if p3 == 0 or (n != 5 + p3 and n != 6 + p3):
                return SW_WRONG_LENGTH
            nc = p3
            d = a + 5
        if cla == 0xA0:
            return gsm_sw(self.gsm(ins, p1, p2, p3, d, nc))
        if (ins & 0xF0) == 0x60 or (ins & 0xF0) == 0x90:
            return SW_INS
        chan = cla & 0xF0
        if chan == 0x00 or chan == 0x80:
            if cla & 0x0C:
                return SW_SM
        elif chan == 0x40 or chan == 0x60 or chan == 0xC0 or chan == 0xE0:
            return SW_CHANNEL
        else:
            return SW_CLA
        c = &self.ch[cla & 3]
        if not c.open:
            return SW_CHANNEL
        if c.applet >= 0 and ins != 0x70 and ins != 0xC0 and not (ins == 0xA4 and p1 == 0x04):
            return self.applet_command(c, cla, ins, p1, p2, p3, d, nc)
        # CLA 8X commands (TS 102 221 §10.1.2 table 10.5; TS 102 222 §6)
        if cla & 0x80:
            if ins == 0xF2:
                return self.status(c, p1, p2, p3, nc)
            if ins == 0x10 or ins == 0xC2 or ins == 0x12 or ins == 0x14:
                return self.cat(ins, p1, p2, p3, d, nc, False)
            if ins == 0x32:
                return self.increase(c, p1, p2, d, nc, False)
            if ins == 0xAA:
                return self.terminal_capability(p1, p2, d, nc)
            if ins == 0xD4:
                return self.file_admin(c, ins, p1, p2, d, nc)
            if ins == 0x78:
                return self.get_identity(c, p1, p2, p3, nc)
            if ins == 0xA4 or ins == 0xB0 or ins == 0xD6 or ins == 0xB2 or ins == 0xDC or ins == 0xA2 \
                    or ins == 0x20 or ins == 0x24 or ins == 0x26 or ins == 0x28 or ins == 0x2C \
                    or ins == 0xC0 or ins == 0x70 or ins == 0x88 or ins == 0x04 or ins == 0x44 \
                    or ins == 0xE0 or ins == 0xE4:
                return SW_CLA
            return SW_INS
        # CLA 0X commands
        if ins == 0xA4:
            return self.select(c, p1, p2, d, nc)
        if ins == 0xB0:
            return self.rd_binary(c, p1, p2, p3, nc, False)
        if ins == 0xB2:
            return self.rd_record(c, p1, p2, p3, nc, False)
        if ins == 0xC0:
            return self.get_response(p1, p2, p3, nc, False)
        if ins == 0xD6:
            return self.up_binary(c, p1, p2, d, nc, False)
        if ins == 0xDC:
            return self.up_record(c, p1, p2, d, nc, False)
        if ins == 0xA2:
            return self.search_record(c, p1, p2, d, nc)
        if ins == 0x20 or ins == 0x24 or ins == 0x26 or ins == 0x28 or ins == 0x2C:
            if p1 != 0:
                return SW_P1P2
            return self.pin_cmd(ins, p2, p3, d, nc)
        if ins == 0x88:
            return self.authenticate(c, p1, p2, d, nc)
        if ins == 0x70:
            return self.manage_channel(cla & 3, p1, p2, p3, nc)
        if ins == 0x04 or ins == 0x44:
            return self.life_cycle(c, ins, p1, p2, d, nc)
        if ins == 0xE0 or ins == 0xE4:
            return self.file_admin(c, ins, p1, p2, d, nc)
        if ins == 0xF2 or ins == 0x10 or ins == 0xC2 or ins == 0x12 or ins == 0x14 or ins == 0x32 \
                or ins == 0xAA or ins == 0xD4 or ins == 0x78:
            return SW_CLA
        return SW_INS

    # ------------------------------------------------------------------ SELECT / STATUS

    cdef int select(self, Channel* c, int p1, int p2, const unsigned char* d, int nc) noexcept:
        """SELECT, TS 102 221 §11.1.1."""
        cdef int i = -1, k, occ, resp = p2 & 0x0C
        cdef Node* nd
        if resp != 0x04 and resp != 0x0C:
            return SW_P1P2
        if p1 == 0x04:
            if p2 & 0x90:
                return SW_P1P2
        elif p2 & 0xF3:
            return SW_P1P2
        if p1 == 0x00:
            if nc == 0:
                i = self.mf
            elif nc != 2:
                return SW_WRONG_LENGTH
            else:
                i = self.find_fid(c, (d[0] << 8) | d[1], False)
        elif p1 == 0x01:
            if nc != 2:
                return SW_WRONG_LENGTH
            i = self.child_fid(c.df, (d[0] << 8) | d[1])
            if i >= 0 and self.nodes[i].kind == K_EF:
                i = -1
        elif p1 == 0x03:
            if nc != 0:
                return SW_WRONG_LENGTH
            i = self.nodes[c.df].parent
        elif p1 == 0x04:
            if nc < 1 or nc > 16:
                return SW_WRONG_LENGTH
            occ = p2 & 0x03
            if (p2 & 0x60) == 0x40:
                # application session termination (TS 102 221 §11.1.1.2)
                i = self.match_aid(d, nc, -1, 1)
                if i < 0:
                    if self.applets and self.select_applet(c, p2, d, nc) == SW_OK:
                        c.applet = -1
                        return SW_OK
                    return SW_NOT_FOUND
                if c.adf == i:
                    c.adf = -1
                    c.df = self.mf
                    c.ef = -1
                    c.rec = 0
                return SW_OK
            if (p2 & 0x60) != 0:
                return SW_P1P2
            if occ == 0:
                i = self.match_aid(d, nc, -1, 1)
            elif occ == 1:
                i = self.match_aid(d, nc, self.nnodes, -1)
            elif occ == 2:
                i = self.match_aid(d, nc, c.aid_sel, 1)
            else:
                i = self.match_aid(d, nc, c.aid_sel if c.aid_sel >= 0 else self.nnodes, -1)
            if i >= 0:
                c.aid_sel = i
            elif self.applets:
                return self.select_applet(c, p2, d, nc)
        elif p1 == 0x08 or p1 == 0x09:
            if nc < 2 or (nc & 1):
                return SW_WRONG_LENGTH
            i = self.find_path(c, p1, d, nc)
        else:
            return SW_P1P2
        if i < 0:
            return SW_NOT_FOUND
        c.applet = -1
        self.set_current(c, i)
        if resp == 0x04:
            k = self.fcp(i, self.out)
            return self.set_pending(self.out, k, False)
        nd = &self.nodes[i]
        if nd.lcsi == 0x04:
            return SW_INVALIDATED_FILE
        return SW_OK

    cdef int find_path(self, Channel* c, int p1, const unsigned char* d, int nc) noexcept:
        """Selection by path, TS 102 221 §8.4.2: from the MF (P1 08, the leading '3F00' may be
        left out) or from the current DF (P1 09); '7FFF' first stands for the current ADF."""
        cdef int j, fid, cur = self.mf if p1 == 0x08 else c.df
        for j in range(0, nc, 2):
            fid = (d[j] << 8) | d[j + 1]
            if cur < 0 or self.nodes[cur].kind == K_EF:
                return -1
            if j == 0 and p1 == 0x08 and fid == 0x3F00:
                continue
            if j == 0 and fid == 0x7FFF:
                cur = c.adf
                continue
            cur = self.child_fid(cur, fid)
        return cur

    cdef int match_aid(self, const unsigned char* d, int nc, int start, int step) noexcept:
        """ADF whose AID starts with the given (right-truncated) DF name, TS 102 221 §8.4.2."""
        cdef int i = start + step
        while 0 <= i < self.nnodes:
            if self.nodes[i].kind == K_ADF and self.nodes[i].aid_len >= nc \
                    and memcmp(self.nodes[i].aid, d, nc) == 0:
                return i
            i += step
        return -1

    cdef int status(self, Channel* c, int p1, int p2, int p3, int nc) noexcept:
        """STATUS, TS 102 221 §11.1.2."""
        cdef int k
        cdef Node* nd
        if p1 > 2:
            return SW_P1P2
        if nc != 0:
            return SW_WRONG_LENGTH
        if p2 == 0x0C:
            return SW_OK
        if p2 == 0x00:
            k = self.fcp(c.df, self.pend)
            return self.out_data(self.pend, k, p3)
        if p2 == 0x01:
            if c.adf < 0:
                return SW_REF_NOT_FOUND
            nd = &self.nodes[c.adf]
            self.pend[0] = 0x84
            self.pend[1] = nd.aid_len
            memcpy(self.pend + 2, nd.aid, nd.aid_len)
            return self.out_data(self.pend, nd.aid_len + 2, p3)
        return SW_P1P2

    cdef int get_response(self, int p1, int p2, int p3, int nc, bint gsm) noexcept:
        """GET RESPONSE, TS 102 221 §11.1.3 / TS 51.011 §9.2.18."""
        cdef int le = p3, rest
        if p1 != 0 or p2 != 0:
            return SW_P1P2
        if nc != 0:
            return SW_WRONG_LENGTH
        if self.pend_len == 0:
            return SW_CONDITIONS
        if le == 0:
            le = 256
        if le > self.pend_len:
            return 0x6C00 | (self.pend_len & 0xFF)
        memcpy(self.out, self.pend, le)
        self.olen = le
        rest = self.pend_len - le
        if rest > 0:
            memmove(self.pend, self.pend + le, rest)
            self.pend_len = rest
            return (0x9F00 if gsm else 0x6100) | rest
        self.pend_len = 0
        return SW_OK

    # ------------------------------------------------------------------ binary / record access

    cdef inline int ef_for(self, Channel* c, int sfi) noexcept:
        """Current EF, or the EF with this SFI in the current DF (which becomes current)."""
        cdef int i
        if sfi == 0:
            return c.ef if c.ef >= 0 else -2
        i = self.find_sfi(c.df, sfi)
        if i < 0:
            return -1
        self.set_current(c, i)
        return i

    cdef inline int binary_ef(self, Channel* c, int p1, int p2, bint gsm, int* off) noexcept:
        """EF and offset addressed by READ/UPDATE BINARY P1-P2, TS 102 221 §11.1.3 (SFI when
        P1 b8 = 1; not in the SIM view, TS 51.011 §9.2.3); -3 for a P1 with b7-b6 set."""
        if (p1 & 0x80) and not gsm:
            if p1 & 0x60:
                return -3
            off[0] = p2
            return self.ef_for(c, p1 & 0x1F)
        off[0] = (p1 << 8) | p2
        return self.ef_for(c, 0)

    cdef inline Node* access_ef(self, int i, bint records, bint update, int* sw) noexcept:
        """The EF a binary or record command acts on, from ef_for/binary_ef/record_ef, once its
        structure, access condition and life cycle (TS 102 221 §11.1.3-§11.1.6) allow it;
        NULL with the status word in *sw otherwise."""
        cdef Node* nd
        if i == -3:
            sw[0] = SW_P1P2
            return NULL
        if i == -2:
            sw[0] = SW_NO_EF
            return NULL
        if i < 0:
            sw[0] = SW_NOT_FOUND
            return NULL
        nd = &self.nodes[i]
        if (nd.structure == S_TRANSPARENT) == records:
            sw[0] = SW_INCOMPATIBLE
            return NULL
        if not self.ac_ok(nd.ac_update if update else nd.ac_read):
            sw[0] = SW_SECURITY
            return NULL
        if nd.lcsi == 0x04:
            sw[0] = SW_CONDITIONS
            return NULL
        return nd

    cdef int rd_binary(self, Channel* c, int p1, int p2, int p3, int nc, bint gsm) noexcept:
        """READ BINARY, TS 102 221 §11.1.3 (SFI in P1 when b8 = 1)."""
        cdef int off, avail, sw, le = p3 if p3 else 256
        cdef Node* nd
        if nc != 0:
            return SW_WRONG_LENGTH
        nd = self.access_ef(self.binary_ef(c, p1, p2, gsm, &off), False, False, &sw)
        if nd == NULL:
            return sw
        if off >= nd.size:
            return SW_WRONG_P1P2
        avail = nd.size - off
        if le > avail:
            return 0x6C00 | (avail & 0xFF)
        memcpy(self.out, self.data + nd.offset + off, le)
        self.olen = le
        return SW_OK

    cdef int up_binary(self, Channel* c, int p1, int p2, const unsigned char* d, int nc,
                       bint gsm) noexcept:
        """UPDATE BINARY, TS 102 221 §11.1.4."""
        cdef int off, sw
        cdef Node* nd
        if nc == 0:
            return SW_WRONG_LENGTH
        nd = self.access_ef(self.binary_ef(c, p1, p2, gsm, &off), False, True, &sw)
        if nd == NULL:
            return sw
        if off >= nd.size:
            return SW_WRONG_P1P2
        if off + nc > nd.size:
            return SW_WRONG_LENGTH
        memcpy(self.data + nd.offset + off, d, nc)
        return SW_OK

    cdef inline int record_ef(self, Channel* c, int p2, bint gsm) noexcept:
        cdef int sfi = 0 if gsm else p2 >> 3
        if sfi == 0x1F:
            return -3
        return self.ef_for(c, sfi)

    cdef int rd_record(self, Channel* c, int p1, int p2, int p3, int nc, bint gsm) noexcept:
        """READ RECORD, TS 102 221 §11.1.5: modes 02 next, 03 previous, 04 absolute/current."""
        cdef int rec, sw, mode = p2 & 7, le = p3 if p3 else 256
        cdef Node* nd
        if nc != 0:
            return SW_WRONG_LENGTH
        if gsm and (p2 >> 3):
            return SW_P1P2
        nd = self.access_ef(self.record_ef(c, p2, gsm), True, False, &sw)
        if nd == NULL:
            return sw
        if mode == 4:
            rec = p1 if p1 else c.rec
            if rec == 0 or rec > nd.nrec:
                return SW_NO_RECORD
        elif mode == 2 or mode == 3:
            if p1 != 0:
                return SW_P1P2
            rec = self.step_record(c, nd, mode)
            if rec == 0:
                return SW_NO_RECORD
        else:
            return SW_P1P2
        if le != nd.rec_len:
            return 0x6C00 | nd.rec_len
        if mode != 4:
            c.rec = rec
        memcpy(self.out, self.rec_ptr(nd, rec), nd.rec_len)
        self.olen = nd.rec_len
        return SW_OK

    cdef inline int step_record(self, Channel* c, Node* nd, int mode) noexcept:
        """Record after (02) / before (03) the record pointer; 0 at the end of a linear EF."""
        cdef int rec
        if mode == 2:
            rec = 1 if c.rec == 0 else c.rec + 1
            if rec > nd.nrec:
                rec = 1 if nd.structure == S_CYCLIC else 0
        else:
            rec = nd.nrec if c.rec == 0 else c.rec - 1
            if rec < 1:
                rec = nd.nrec if nd.structure == S_CYCLIC else 0
        return rec

    cdef int up_record(self, Channel* c, int p1, int p2, const unsigned char* d, int nc,
                       bint gsm) noexcept:
        """UPDATE RECORD, TS 102 221 §11.1.6 (cyclic EFs: previous mode only)."""
        cdef int rec, sw, mode = p2 & 7
        cdef Node* nd
        cdef Node* st
        if nc == 0:
            return SW_WRONG_LENGTH
        if gsm and (p2 >> 3):
            return SW_P1P2
        nd = self.access_ef(self.record_ef(c, p2, gsm), True, True, &sw)
        if nd == NULL:
            return sw
        if mode != 2 and mode != 3 and mode != 4:
            return SW_P1P2
        if mode != 4 and p1 != 0:
            return SW_P1P2
        if nc != nd.rec_len:
            return SW_WRONG_LENGTH
        if nd.structure == S_CYCLIC:
            if mode != 3:
                return SW_INCOMPATIBLE
            st = &self.nodes[nd.store]
            st.head = (st.head + st.nrec - 1) % st.nrec
            memcpy(self.rec_ptr(nd, 1), d, nc)
            c.rec = 1
            return SW_OK
        if mode == 4:
            rec = p1 if p1 else c.rec
            if rec == 0 or rec > nd.nrec:
                return SW_NO_RECORD
        else:
            rec = self.step_record(c, nd, mode)
            if rec == 0:
                return SW_NO_RECORD
            c.rec = rec
        memcpy(self.rec_ptr(nd, rec), d, nc)
        return SW_OK

    cdef int search_record(self, Channel* c, int p1, int p2, const unsigned char* d, int nc) noexcept:
        """SEARCH RECORD simple search, TS 102 221 §11.1.7 (P2 mode 04 forward, 05 backward from P1).

        The pattern may occur anywhere in a record
        the response lists the matching record
        numbers and the record pointer moves to the first of them.
        """
        cdef int i, mode = p2 & 7, rec, last, step, cnt = 0, k
        cdef Node* nd
        cdef unsigned char* r
        i = self.record_ef(c, p2, False)
        if i == -3:
            return SW_P1P2
        if mode != 4 and mode != 5:
            return SW_P1P2
        if i == -2:
            return SW_NO_EF
        if i < 0:
            return SW_NOT_FOUND
        nd = &self.nodes[i]
        if nd.structure == S_TRANSPARENT:
            return SW_INCOMPATIBLE
        if nc == 0 or nc > nd.rec_len:
            return SW_WRONG_LENGTH
        if not self.ac_ok(nd.ac_read):
            return SW_SECURITY
        if nd.lcsi == 0x04:
            return SW_CONDITIONS
        rec = p1 if p1 else c.rec
        if p1 > nd.nrec:
            return SW_NO_RECORD
        if rec == 0:
            rec = 1 if mode == 4 else nd.nrec
        step = 1 if mode == 4 else -1
        last = nd.nrec + 1 if mode == 4 else 0
        while rec != last:
            r = self.rec_ptr(nd, rec)
            for k in range(nd.rec_len - nc + 1):
                if memcmp(r + k, d, nc) == 0:
                    self.out[cnt] = rec
                    cnt += 1
                    break
            rec += step
        if cnt == 0:
            return SW_SEARCH_FAILED
        c.rec = self.out[0]
        return self.set_pending(self.out, cnt, False)

    cdef int increase(self, Channel* c, int p1, int p2, const unsigned char* d, int nc,
                      bint gsm) noexcept:
        """INCREASE, TS 102 221 §11.1.8 / TS 51.011 §9.2.7: adds the data to the value of record 1
        of a cyclic EF and writes the sum as the new record 1 (the oldest record is overwritten);
        the response is the new record followed by the value added. 9850 when the sum does not
        fit the record."""
        cdef int k, carry, sw
        cdef Node* nd
        cdef Node* st
        cdef unsigned char* rec
        if p1 != 0 or (p2 & 7) or (gsm and p2):
            return SW_P1P2
        if nc == 0:
            return SW_WRONG_LENGTH
        nd = self.access_ef(self.ef_for(c, p2 >> 3), True, True, &sw)
        if nd == NULL:
            return sw
        if nd.structure != S_CYCLIC:
            return SW_INCOMPATIBLE
        if nc > nd.rec_len:
            return SW_WRONG_LENGTH
        rec = self.rec_ptr(nd, 1)
        memcpy(self.pend, rec, nd.rec_len)
        carry = 0
        for k in range(nd.rec_len - 1, -1, -1):
            carry += self.pend[k]
            if k >= nd.rec_len - nc:
                carry += d[k - (nd.rec_len - nc)]
            self.pend[k] = carry & 0xFF
            carry >>= 8
        if carry:
            return SW_MAX_VALUE
        st = &self.nodes[nd.store]
        st.head = (st.head + st.nrec - 1) % st.nrec
        memcpy(self.rec_ptr(nd, 1), self.pend, nd.rec_len)
        c.rec = 1
        memcpy(self.out, self.pend, nd.rec_len)
        memcpy(self.out + nd.rec_len, d, nc)
        return self.set_pending(self.out, nd.rec_len + nc, gsm)

    cdef int life_cycle(self, Channel* c, int ins, int p1, int p2, const unsigned char* d,
                        int nc) noexcept:
        """DEACTIVATE FILE (04) / ACTIVATE FILE (44), TS 102 221 §11.1.14 / §11.1.15: the file
        named as SELECT names it (P1 00 FID, 08 path from the MF, 09 path from the current DF;
        no data: the current file) becomes current and its life cycle status (FCP tag 8A) turns
        to 04 operational-deactivated / 05 operational-activated. Needs ADM (the ACTIVATE and
        DEACTIVATE rule of the cards' EF_ARR)."""
        cdef int i
        if p2 != 0:
            return SW_P1P2
        if nc == 0:
            if p1 != 0:
                return SW_WRONG_LENGTH
            i = c.ef if c.ef >= 0 else c.df
        elif p1 == 0x00:
            if nc != 2:
                return SW_WRONG_LENGTH
            i = self.find_fid(c, (d[0] << 8) | d[1], False)
        elif p1 == 0x08 or p1 == 0x09:
            if nc & 1:
                return SW_WRONG_LENGTH
            i = self.find_path(c, p1, d, nc)
        else:
            return SW_P1P2
        if i < 0:
            return SW_NOT_FOUND
        self.set_current(c, i)
        if not self.ac_ok(AC_ADM1):
            return SW_SECURITY
        self.nodes[i].lcsi = 0x04 if ins == 0x04 else 0x05
        return SW_OK

    cdef int terminal_capability(self, int p1, int p2, const unsigned char* d, int nc) noexcept:
        """TERMINAL CAPABILITY, TS 102 221 §11.1.19: the terminal capability template (tag A9)
        is accepted; the card has no behaviour that depends on it."""
        if p1 != 0 or p2 != 0:
            return SW_P1P2
        if nc == 0:
            return SW_WRONG_LENGTH
        if nc < 2 or d[0] != 0xA9 or d[1] + 2 != nc:
            return SW_BAD_DATA
        return SW_OK

    cdef int file_admin(self, Channel* c, int ins, int p1, int p2, const unsigned char* d,
                        int nc) noexcept:
        """CREATE FILE (E0), DELETE FILE (E4), RESIZE FILE (80 D4), TS 102 222 §6.3 / §6.4 /
        §6.10, under ADM. The change of the file tree is made by the card's ``administer``
        method (:meth:`csim.card.Card.administer`); a bare core does not support them."""
        if p1 != 0 or p2 != 0:
            return SW_P1P2
        if nc == 0:
            return SW_WRONG_LENGTH
        if not self.ac_ok(AC_ADM1):
            return SW_SECURITY
        administer = getattr(self, "administer", None)
        if administer is None:
            return SW_INS
        try:
            sw = int(administer(ins, <int>(c - &self.ch[0]), PyBytes_FromStringAndSize(<const char*>d, nc)))
        except Exception:
            return SW_TECH
        return sw if 0x6000 <= sw <= 0x9FFF else SW_TECH

    # ------------------------------------------------------------------ PINs

    cdef int pin_cmd(self, int ins, int ref, int p3, const unsigned char* d, int nc) noexcept:
        """VERIFY / CHANGE / DISABLE / ENABLE / UNBLOCK PIN, TS 102 221 §11.1.9-§11.1.13.

        An empty VERIFY returns the retry counter whether or not the PIN is disabled or
        blocked (§11.1.9.1.2): 63CX, 9000 once verified. VERIFY and CHANGE need a PIN that is
        not disabled (§11.1.9.1.1, §11.1.10.1), DISABLE an enabled one: a disabled PIN answers
        6984 (referenced data invalidated). ENABLE of an enabled PIN verifies it and leaves it
        enabled. Administrative keys are never disabled (6985). A blocked PIN answers 6983.
        """
        cdef int i = self.pin_index(ref)
        cdef Pin* p
        if i < 0:
            return SW_REF_NOT_FOUND
        p = &self.pins[i]
        if ins == 0x2C:
            if not p.has_puk:
                return SW_REF_NOT_FOUND
            if nc == 0:
                if p3 != 0:
                    return SW_WRONG_LENGTH
                return 0x63C0 | p.puk_attempts
            if nc != 16:
                return SW_WRONG_LENGTH
            if p.puk_attempts == 0:
                return SW_BLOCKED
            if memcmp(p.puk, d, 8) != 0:
                p.puk_attempts -= 1
                return 0x63C0 | p.puk_attempts
            if not pin_format_ok(d + 8):
                return SW_BAD_DATA
            p.puk_attempts = p.max_puk_attempts
            memcpy(p.value, d + 8, 8)
            p.attempts = p.max_attempts
            p.enabled = True
            p.verified = True
            return SW_OK
        if ins == 0x20 and nc == 0:
            if p3 != 0:
                return SW_WRONG_LENGTH
            if p.verified and p.enabled:
                return SW_OK
            return 0x63C0 | p.attempts
        if nc != (16 if ins == 0x24 else 8):
            return SW_WRONG_LENGTH
        if (ins == 0x26 or ins == 0x28) and (ref == 0x0A or ref == 0x0B):
            return SW_CONDITIONS           # administrative keys cannot be disabled
        if ins != 0x28 and not p.enabled:
            return SW_INVALIDATED
        if p.attempts == 0:
            return SW_BLOCKED
        if memcmp(p.value, d, 8) != 0:
            p.attempts -= 1
            p.verified = False
            return 0x63C0 | p.attempts
        if ins == 0x24:
            if ref != 0x0A and ref != 0x0B and not pin_format_ok(d + 8):
                return SW_BAD_DATA
            memcpy(p.value, d + 8, 8)
        elif ins == 0x26:
            p.enabled = False
        elif ins == 0x28:
            p.enabled = True
        p.attempts = p.max_attempts
        p.verified = True
        return SW_OK

    # ------------------------------------------------------------------ channels

    cdef int manage_channel(self, int origin, int p1, int p2, int p3, int nc) noexcept:
        """MANAGE CHANNEL, TS 102 221 §11.1.17 (channels 1-3)."""
        cdef int k
        if nc != 0:
            return SW_WRONG_LENGTH
        if p1 == 0x00:
            if p2 == 0:
                if p3 != 1:
                    return 0x6C01
                k = 1
                while k < NCHAN and self.ch[k].open:
                    k += 1
                if k == NCHAN:
                    return SW_FUNC
            else:
                if p2 > 19:
                    return SW_P1P2
                if p2 >= NCHAN:
                    return SW_CHANNEL
                if p3 != 0:
                    return SW_WRONG_LENGTH
                k = p2
                if self.ch[k].open:
                    return SW_CONDITIONS
            self.ch[k].open = True
            self.ch[k].ef = -1
            self.ch[k].rec = 0
            self.ch[k].aid_sel = -1
            self.ch[k].applet = -1
            if origin == 0:
                self.ch[k].df = self.mf
                self.ch[k].adf = -1
            else:
                self.ch[k].df = self.ch[origin].df
                self.ch[k].adf = self.ch[origin].adf
                self.ch[k].applet = self.ch[origin].applet
            if p2 == 0:
                self.out[0] = k
                self.olen = 1
            return SW_OK
        if p1 == 0x80:
            if p3 != 0:
                return SW_WRONG_LENGTH
            if p2 == 0 or p2 > 19:
                return SW_P1P2
            if p2 >= NCHAN:
                return SW_CHANNEL
            if not self.ch[p2].open:
                return SW_REF_NOT_FOUND
            self.ch[p2].open = False
            return SW_OK
        return SW_P1P2

    # ------------------------------------------------------------------ AUTHENTICATE

    cdef int authenticate(self, Channel* c, int p1, int p2, const unsigned char* d, int nc) noexcept:
        """AUTHENTICATE, TS 31.102 §7.1.2: P2 81 3G/EPS context, P2 80 GSM context."""
        cdef int rc, n = 0
        cdef unsigned char buf[64]
        if p1 != 0 or (p2 != 0x81 and p2 != 0x80):
            return SW_P1P2
        if c.adf < 0 or self._auth is None:
            return SW_CONDITIONS
        if p2 == 0x80 and not self.ust_service(38):
            return SW_P1P2
        if nc != (0x22 if p2 == 0x81 else 0x11):
            return SW_WRONG_LENGTH
        if d[0] != 0x10 or (p2 == 0x81 and d[17] != 0x10):
            return SW_BAD_DATA
        if not self.ac_ok(AC_PIN1):
            return SW_SECURITY
        self.n_auth += 1
        if p2 == 0x80:
            self._auth.authenticate_gsm(d + 1, buf, &n)
            return self.set_pending(buf, n, False)
        rc = self._auth.authenticate_3g(d + 1, d + 18, self.ust_service(27), buf, &n)
        if rc == 2:
            self.n_mac += 1
            return SW_AUTH_ERROR
        if rc == 1:
            self.n_sync += 1
        return self.set_pending(buf, n, False)

    # ------------------------------------------------------------------ GET IDENTITY

    cdef int get_identity(self, Channel* c, int p1, int p2, int p3, int nc) noexcept:
        """GET IDENTITY, TS 31.102 §7.5: the SUCI calculated by the USIM (P2 '01', SUCI context),
        with UST services 124 and 125 on; no command data, the SUCI TLV (tag 'A1') as response.
        The calculation is the card's ``identity`` method (:meth:`csim.card.Card.identity`)."""
        cdef Node* nd
        if nc != 0:
            return SW_WRONG_LENGTH
        if p1 != 0 or p2 != 0x01:
            return SW_P1P2
        if c.adf < 0:
            return SW_CONDITIONS
        nd = &self.nodes[c.adf]
        if nd.aid_len < 7 or memcmp(nd.aid, b"\xA0\x00\x00\x00\x87\x10\x02", 7) != 0:
            return SW_CONDITIONS  # not the USIM
        if not (self.ust_service(124) and self.ust_service(125)):
            return SW_CONDITIONS
        if not self.ac_ok(AC_PIN1):
            return SW_SECURITY
        identity = getattr(self, "identity", None)
        if identity is None:
            return SW_CONDITIONS
        try:
            value = bytes(identity(p2))
        except Exception:
            return SW_TECH
        if len(value) > 253:
            return SW_TECH
        tlv = bytes([0xA1, len(value)]) + value
        return self.out_data(<const unsigned char*>PyBytes_AS_STRING(tlv), len(tlv), p3)

    # ------------------------------------------------------------------ applets without a file system

    cdef int select_applet(self, Channel* c, int p2, const unsigned char* d, int nc) noexcept:
        """SELECT by DF name of an application of :attr:`applets` (GlobalPlatform Card Specification
        §11.9, TS 102 221 §11.1.1): the full or right-truncated AID; the applet then receives every
        command of the channel but SELECT by DF name, MANAGE CHANNEL and GET RESPONSE."""
        cdef int k
        cdef bytes aid
        for k in range(len(self.applets)):
            aid = self.applets[k].aid
            if nc <= len(aid) and memcmp(<const unsigned char*>PyBytes_AS_STRING(aid), d, nc) == 0:
                if (p2 & 0x60) == 0:
                    c.applet = k
                    c.ef = -1
                    c.rec = 0
                return SW_OK
        return SW_NOT_FOUND

    cdef int applet_command(self, Channel* c, int cla, int ins, int p1, int p2, int p3,
                            const unsigned char* d, int nc) noexcept:
        """A command on a channel where an applet is selected: the applet's ``command(cla, ins,
        p1, p2, data)`` answers ``(sw, data)``. Data of a case 2 command goes out with its Le, or
        6Cxx announces its length and the repeated command (TS 102 221 §7.3.1.1.5) gets the same
        data without running the applet again; data of a case 4 command by GET RESPONSE (61xx)."""
        cdef int sw, n
        cdef long hdr = (<long>cla << 24) | (ins << 16) | (p1 << 8) | p2
        if self._applet_hdr >= 0:
            out = self._applet_out
            self._applet_out = None
            if hdr == self._applet_hdr and nc == 0 and p3 == len(out):
                self._applet_hdr = -1
                return self.out_data(<const unsigned char*>PyBytes_AS_STRING(out), len(out), p3)
            self._applet_hdr = -1
        try:
            sw, out = self.applets[c.applet].command(
                cla & 0xFC, ins, p1, p2, PyBytes_FromStringAndSize(<const char*>d, nc) if nc else b"")
            sw = int(sw)
            out = bytes(out or b"")
        except Exception:
            return SW_TECH
        if not 0x6000 <= sw <= 0x9FFF:
            return SW_TECH
        n = len(out)
        if n == 0 or (sw != SW_OK and (sw >> 8) != 0x62 and (sw >> 8) != 0x63):
            return sw
        if n > 256:
            return SW_TECH
        if nc == 0:
            if (p3 if p3 else 256) != n:
                self._applet_out = out
                self._applet_hdr = hdr
            return self.out_data(<const unsigned char*>PyBytes_AS_STRING(out), n, p3)
        return self.set_pending(<const unsigned char*>PyBytes_AS_STRING(out), n, False)

    # ------------------------------------------------------------------ CAT

    cdef int cat(self, int ins, int p1, int p2, int p3, const unsigned char* d, int nc, bint gsm) noexcept:
        """TERMINAL PROFILE / ENVELOPE / FETCH / TERMINAL RESPONSE, TS 102 221 §11.2.

        Without a toolkit the card still accepts TERMINAL PROFILE (9000) and answers the
        other three with 6D00 (instruction not supported).
        """
        cdef int sw, n, le
        if p1 != 0 or p2 != 0:
            return SW_P1P2
        if ins == 0x12:
            if nc != 0:
                return SW_WRONG_LENGTH
        elif nc == 0:
            return SW_WRONG_LENGTH
        if self.toolkit is None:
            return SW_OK if ins == 0x10 else SW_INS
        # csim.cat's runtime is called at C level; any other toolkit object through Python
        cdef Toolkit ctk = self.toolkit if type(self.toolkit) is Toolkit else None
        try:
            if ctk is not None and ctk._core != <void*>self and (
                    type(self).set_proactive_pending is CardCore.set_proactive_pending):
                ctk.attach(self, &self.proactive)  # the toolkit sets the pending length directly
            if ins == 0x10:
                data = PyBytes_FromStringAndSize(<const char*>d, nc)
                if ctk is not None:
                    ctk.terminal_profile(data)
                else:
                    self.toolkit.terminal_profile(data)
                return SW_OK
            if ins == 0x14:
                data = PyBytes_FromStringAndSize(<const char*>d, nc)
                sw = (ctk.terminal_response(data) if ctk is not None
                      else int(self.toolkit.terminal_response(data)))
                return sw if 0x6000 <= sw <= 0x9FFF else SW_TECH
            if ins == 0xC2:
                data = PyBytes_FromStringAndSize(<const char*>d, nc)
                res = ctk.envelope(data) if ctk is not None else self.toolkit.envelope(data)
                sw = int(res[0])
                data = bytes(res[1] or b"")
                if not 0x6000 <= sw <= 0x9FFF:
                    return SW_TECH
                if data and (sw == SW_OK or (sw >> 8) == 0x62 or (sw >> 8) == 0x63):
                    n = len(data)
                    return self.set_pending(<const unsigned char*>PyBytes_AS_STRING(data), n, gsm)
                return sw
            # FETCH
            le = p3 if p3 else 256
            if self.proactive > 0 and le != self.proactive:
                return 0x6C00 | (self.proactive & 0xFF)
            cmd = ctk.fetch() if ctk is not None else self.toolkit.fetch()
            if cmd is None:
                return SW_CONDITIONS
            cmd = bytes(cmd)
            n = len(cmd)
            if n > 256:
                return SW_TECH
            memcpy(self.out, <const unsigned char*>PyBytes_AS_STRING(cmd), n)
            self.olen = n
            return SW_OK
        except Exception:
            self.olen = 0
            return SW_TECH

    # ------------------------------------------------------------------ SIM view (CLA A0)

    cdef int gsm(self, int ins, int p1, int p2, int p3, const unsigned char* d, int nc) noexcept:
        """Classic SIM commands, TS 51.011 §9.2 (basic channel only)."""
        cdef Channel* c = &self.ch[0]
        cdef int i, k, n = 0
        cdef unsigned char buf[64]
        if (ins & 0xF0) == 0x60 or (ins & 0xF0) == 0x90:
            return SW_INS
        if ins == 0xA4:
            if p1 != 0 or p2 != 0:
                return SW_WRONG_P1P2
            if nc != 2:
                return SW_WRONG_LENGTH
            i = self.find_fid(c, (d[0] << 8) | d[1], True)
            if i < 0:
                return SW_NOT_FOUND
            self.set_current(c, i)
            k = self.gsm_response(i, self.out)
            return self.set_pending(self.out, k, True)
        if ins == 0xC0:
            return self.get_response(p1, p2, p3, nc, True)
        if ins == 0xB0:
            return self.rd_binary(c, p1, p2, p3, nc, True)
        if ins == 0xD6:
            return self.up_binary(c, p1, p2, d, nc, True)
        if ins == 0xB2:
            return self.rd_record(c, p1, p2, p3, nc, True)
        if ins == 0xDC:
            return self.up_record(c, p1, p2, d, nc, True)
        if ins == 0xF2:
            if p1 != 0 or p2 != 0:
                return SW_WRONG_P1P2
            if nc != 0:
                return SW_WRONG_LENGTH
            k = self.gsm_response(c.df, self.pend)
            if p3 == 0 or p3 > k:
                return 0x6C00 | k
            memcpy(self.out, self.pend, p3)
            self.olen = p3
            return SW_OK
        if ins == 0x20 or ins == 0x24 or ins == 0x26 or ins == 0x28 or ins == 0x2C:
            if p1 != 0:
                return SW_WRONG_P1P2
            if ins == 0x2C:
                k = 0x01 if p2 == 0x00 else (0x81 if p2 == 0x02 else -1)
            else:
                k = 0x01 if p2 == 0x01 else (0x81 if p2 == 0x02 else -1)
            if k < 0:
                return SW_WRONG_P1P2
            if nc == 0:
                return SW_WRONG_LENGTH
            return self.pin_cmd(ins, k, p3, d, nc)
        if ins == 0x88:
            # RUN GSM ALGORITHM, TS 51.011 §9.2.16: SRES (4) || Kc (8)
            if p1 != 0 or p2 != 0:
                return SW_WRONG_P1P2
            if nc != 16:
                return SW_WRONG_LENGTH
            if self._auth is None:
                return SW_TECH
            if not self.ac_ok(AC_PIN1):
                return SW_SECURITY
            self.n_auth += 1
            self._auth.authenticate_gsm(d, buf, &n)
            memmove(buf, buf + 1, 4)
            memmove(buf + 4, buf + 6, 8)
            return self.set_pending(buf, 12, True)
        if ins == 0x32:
            return self.increase(c, p1, p2, d, nc, True)
        if ins == 0x10 or ins == 0xC2 or ins == 0x12 or ins == 0x14:
            return self.cat(ins, p1, p2, p3, d, nc, True)
        return SW_INS

    # ------------------------------------------------------------------ Python-level API

    @property
    def atr(self) -> bytes:
        """Answer To Reset, from the card image (ISO/IEC 7816-3 §8)."""
        return self._atr

    def rebuild(self, image, int channel=0, select=None) -> None:
        """Rebuild the file tree from ``image``, the card's own state with a change of its tree
        (TS 102 222 administrative commands): PIN values and security status, keys, the pending
        proactive command and the counters carry over; every channel keeps its selection by path,
        or the nearest DF still there. ``select`` (a path) then becomes current on ``channel``.
        The image is checked on a card of its own first: a bad one raises and changes nothing."""
        cdef int k
        cdef Channel* c
        CardCore(image)
        paths = self._paths
        chans = [(self.ch[k].open, paths[self.ch[k].df], paths[self.ch[k].ef] if self.ch[k].ef >= 0 else None,
                  self.ch[k].rec, paths[self.ch[k].adf] if self.ch[k].adf >= 0 else None)
                 for k in range(NCHAN)]
        verified = {self.pins[k].key_ref: self.pins[k].verified for k in range(self.npins)}
        auth, proactive = self._auth, self.proactive
        counters = (self.n_apdu, self.n_auth, self.n_sync, self.n_mac)
        self._build(image)
        self._auth, self.proactive = auth, proactive
        self.n_apdu, self.n_auth, self.n_sync, self.n_mac = counters
        for k in range(self.npins):
            self.pins[k].verified = verified.get(self.pins[k].key_ref, False)
        for k in range(NCHAN):
            is_open, df, ef, rec, adf = chans[k]
            c = &self.ch[k]
            c.open = is_open
            c.df = self._nearest(df)
            c.ef = self._index.get(ef, -1) if ef is not None else -1
            c.rec = rec if c.ef >= 0 else 0
            c.adf = self._index.get(adf, -1) if adf is not None else -1
        if select is not None:
            self.set_current(&self.ch[channel], self._index[select.upper()])

    def _nearest(self, path) -> int:
        """Index of the file at ``path``, else of its nearest ancestor still in the tree."""
        while path not in self._index and "/" in path:
            path = path.rsplit("/", 1)[0]
        return self._index.get(path, self.mf)

    def reset(self) -> bytes:
        """Card reset: security status, channels, selection and pending data are cleared."""
        self._reset_state()
        self.proactive = 0
        tk = self.toolkit
        if tk is not None and hasattr(tk, "reset"):
            tk.reset()
        return self._atr

    def set_proactive_pending(self, int length) -> None:
        """Length of the pending proactive command (0 = none): final 9000 becomes 91xx."""
        if not 0 <= length <= 256:
            raise ValueError("proactive command length out of range")
        self.proactive = length

    @property
    def proactive_pending(self) -> int:
        return self.proactive

    @property
    def auth(self):
        """The :class:`csim.milenage.UsimAuth` of the active subscription (None without keys)."""
        return self._auth

    @auth.setter
    def auth(self, UsimAuth value):
        self._auth = value

    cdef int _node(self, path) except -1:
        i = self._index.get(path)  # already in the index's form ("3F00/7FF0/6F07")
        if i is not None:
            return i
        p = str(path).upper().strip("/")
        if not p.startswith("3F00"):
            p = "3F00/" + p
        i = self._index.get(p)
        if i is None:
            raise KeyError(f"no file {path}")
        return i

    cdef int _ef(self, path, int structure) except -1:
        cdef int i = self._node(path)
        if self.nodes[i].kind != K_EF:
            raise ValueError(f"{path} is not an EF")
        if (structure == S_TRANSPARENT) != (self.nodes[i].structure == S_TRANSPARENT):
            raise ValueError(f"{path}: wrong file structure for this access")
        return i

    def read_file(self, path: str) -> bytes:
        """Contents of a transparent EF (no access condition check)."""
        cdef int i = self._ef(path, S_TRANSPARENT)
        cdef Node* nd = &self.nodes[i]
        return PyBytes_FromStringAndSize(<char*>self.data + nd.offset, nd.size)

    def write_file(self, path: str, data: bytes) -> None:
        """Overwrite a transparent EF; shorter data is padded with FF."""
        self._write_file(path, data)

    def write_files(self, writes) -> None:
        """:meth:`write_file` for each ``(path, data)`` of ``writes``, in order.

        ``writes`` may be a :class:`FileWrites` resolved by :meth:`resolve_writes` on a card of
        the same file tree: its files are then found by node index instead of by path.
        """
        cdef FileWrites fw
        cdef Node* nd
        cdef Py_ssize_t k
        cdef bytes b
        if type(writes) is FileWrites:
            fw = <FileWrites>writes
            if self._same_tree(fw):
                for k in range(fw.n):
                    nd = &self.nodes[fw.node[4 * k]]
                    b = <bytes>fw.data[k]
                    memcpy(self.data + nd.offset, PyBytes_AS_STRING(b), nd.size)
                return
            writes = fw.writes
        for path, data in writes:
            self._write_file(path, data)

    def resolve_writes(self, writes) -> FileWrites:
        """``(path, data)`` pairs for :meth:`write_files` with each file looked up once: raises as
        :meth:`write_file` would (missing file, not transparent, data too long)."""
        cdef FileWrites fw = FileWrites.__new__(FileWrites)
        cdef tuple pairs = tuple([(path, data) for path, data in writes])
        cdef Py_ssize_t k, n = len(pairs)
        cdef int i
        cdef Node* nd
        fw.writes = pairs
        fw.data = []
        fw.nnodes = self.nnodes
        fw.node = <int*>malloc((n if n > 0 else 1) * 4 * sizeof(int))
        if fw.node == NULL:
            raise MemoryError()
        for k in range(n):
            path, data = pairs[k]
            i = self._ef(path, S_TRANSPARENT)
            nd = &self.nodes[i]
            b = data if type(data) is bytes else bytes(data)
            if len(b) > nd.size:
                raise ValueError(f"{path}: {len(b)} bytes do not fit in {nd.size}")
            fw.node[4 * k] = i
            fw.node[4 * k + 1] = nd.fid
            fw.node[4 * k + 2] = nd.size
            fw.node[4 * k + 3] = nd.offset
            fw.data.append(b + b"\xff" * (nd.size - len(b)))
            fw.n = k + 1
        return fw

    cdef bint _same_tree(self, FileWrites fw) noexcept:
        """The files of ``fw`` are transparent EFs of this card at the same nodes (same FID,
        size and place in the data buffer), as on every card of one image."""
        cdef Py_ssize_t k
        cdef Node* nd
        if fw.nnodes != self.nnodes:
            return False
        for k in range(fw.n):
            nd = &self.nodes[fw.node[4 * k]]
            if (nd.kind != K_EF or nd.structure != S_TRANSPARENT or nd.fid != fw.node[4 * k + 1]
                    or nd.size != fw.node[4 * k + 2] or nd.offset != fw.node[4 * k + 3]):
                return False
        return True

    cdef int _write_file(self, path, data) except -1:
        cdef int i = self._ef(path, S_TRANSPARENT)
        cdef Node* nd = &self.nodes[i]
        cdef bytes b = data if type(data) is bytes else bytes(data)
        cdef Py_ssize_t n = len(b)
        if n > nd.size:
            raise ValueError(f"{path}: {n} bytes do not fit in {nd.size}")
        if n:
            memcpy(self.data + nd.offset, <const unsigned char*>b, n)
        if n < nd.size:
            memset(self.data + nd.offset + n, 0xFF, nd.size - n)
        return 0

    def read_record(self, path: str, int n) -> bytes:
        """Record ``n`` (1-based) of a linear fixed or cyclic EF."""
        cdef int i = self._ef(path, S_LINEAR)
        cdef Node* nd = &self.nodes[i]
        if not 1 <= n <= nd.nrec:
            raise IndexError(f"{path}: no record {n}")
        return PyBytes_FromStringAndSize(<char*>self.rec_ptr(nd, n), nd.rec_len)

    def write_record(self, path: str, int n, data: bytes) -> None:
        """Overwrite record ``n`` (1-based); shorter data is padded with FF."""
        cdef int i = self._ef(path, S_LINEAR)
        cdef Node* nd = &self.nodes[i]
        if not 1 <= n <= nd.nrec:
            raise IndexError(f"{path}: no record {n}")
        b = bytes(data)
        if len(b) > nd.rec_len:
            raise ValueError(f"{path}: record is {nd.rec_len} bytes")
        b = b + b"\xff" * (nd.rec_len - len(b))
        memcpy(self.rec_ptr(nd, n), <const unsigned char*>b, nd.rec_len)

    def records(self, path: str) -> list:
        """All records of a record EF, record 1 first."""
        cdef int i = self._ef(path, S_LINEAR)
        cdef Node* nd = &self.nodes[i]
        return [PyBytes_FromStringAndSize(<char*>self.rec_ptr(nd, k), nd.rec_len)
                for k in range(1, nd.nrec + 1)]

    def lcsi(self, path: str) -> int:
        """Life cycle status integer of a file, FCP tag 8A (TS 102 221 §11.1.1.4.9): 05
        operational-activated, 04 operational-deactivated."""
        return self.nodes[self._node(path)].lcsi

    def file_paths(self) -> list:
        """Paths of every file of the tree, in image order."""
        return list(self._paths)

    def pin_status(self, name) -> dict:
        """Retry counters and state of a PIN by name ("PIN1", "PIN2", "ADM1") or key reference."""
        cdef int i
        cdef Pin* p
        if isinstance(name, int):
            i = self.pin_index(name)
        else:
            i = -1
            for k, nm in enumerate(self._pin_names):
                if nm.upper() == str(name).upper():
                    i = k
        if i < 0:
            raise KeyError(f"no PIN {name}")
        p = &self.pins[i]
        return {
            "name": self._pin_names[i],
            "key_ref": p.key_ref,
            "attempts": p.attempts,
            "max_attempts": p.max_attempts,
            "puk_attempts": p.puk_attempts if p.has_puk else None,
            "max_puk_attempts": p.max_puk_attempts if p.has_puk else None,
            "blocked": p.attempts == 0,
            "puk_blocked": p.has_puk and p.puk_attempts == 0,
            "enabled": bool(p.enabled),
            "verified": bool(p.verified),
        }

    def pin_values(self) -> list:
        """(name, value, puk) of every PIN, as stored now (persistence)."""
        return [(self._pin_names[i], self.pins[i].value[:8],
                 self.pins[i].puk[:8] if self.pins[i].has_puk else None)
                for i in range(self.npins)]

    def selection(self, int channel=0) -> dict:
        """Selection state of a channel: current DF, EF, record and application paths."""
        cdef Channel* c
        if not 0 <= channel < NCHAN:
            raise ValueError("channel out of range")
        c = &self.ch[channel]
        return {
            "open": bool(c.open),
            "df": self._paths[c.df] if c.open else None,
            "ef": self._paths[c.ef] if c.open and c.ef >= 0 else None,
            "record": c.rec if c.open else 0,
            "adf": self._paths[c.adf] if c.open and c.adf >= 0 else None,
        }

    @property
    def counters(self) -> dict:
        """Commands processed since the card object was built."""
        return {"apdus": self.n_apdu, "authenticate": self.n_auth,
                "sync_failures": self.n_sync, "mac_failures": self.n_mac}

    def _contents(self, path: str):
        """Stored contents of an EF: bytes (transparent) or list of records (record 1 first)."""
        cdef int i = self._node(path)
        if self.nodes[i].kind != K_EF:
            return None
        if self.nodes[i].structure == S_TRANSPARENT:
            return self.read_file(path)
        return self.records(path)

# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Milenage f1, f1*, f2, f3, f4, f5, f5* (3GPP TS 35.206), the 3GPP test algorithm (TS 34.108
§8.1.2) and the USIM side of AKA.

AES-128 comes from OpenSSL's libcrypto (EVP, ECB, no padding); each :class:`Milenage` keeps one
EVP context, so the key schedule is computed once per subscriber key. :class:`UsimAuth` objects of
one (K, OPc) share one :class:`Milenage` (it holds no per-subscriber state); the C-level methods
run with the GIL held.

The test algorithm is the one of test USIMs and of the GSMA TS.48 test profiles (algorithmID
usim-test-algorithm of the TCA profile package): XDOUT = K XOR RAND, RES = XDOUT (128 bits), CK and
IK = XDOUT rotated left by 8 and 16 bits, AK = AK* = bits 24..71 of XDOUT, MAC-A (MAC-S) = bits
0..63 of XDOUT XOR (SQN || AMF). It ignores OPc. ``algorithm="usim-test-algorithm"`` selects it in
:class:`UsimAuth`, :func:`generate_vector` and :func:`resync`; ``test_vector`` is its C-level AuC.

The USIM side (:class:`UsimAuth`) verifies AUTN (TS 33.102 §6.3.3), checks the freshness of SQN
with the array scheme of TS 33.102 Annex C.2 (SQN = SEQ || IND, IND on 5 bits, 32 entries
SEQ_MS(i)), answers a synchronisation failure with AUTS (§6.3.5) and builds the AUTHENTICATE
response data of TS 31.102 §7.1.2. The network side (AuC/HSS) is ``eps_vector`` (C level, for the
MME), :func:`generate_vector` over it, and :func:`resync`.

A :class:`Milenage` or :class:`UsimAuth` instance must not be used from two threads at once.
"""

from libc.stdint cimport uint64_t
from libc.string cimport memcpy, memset

IND_BITS = 5
"""Length of IND in bits (SQN = SEQ || IND, TS 33.102 Annex C); a = 2^5 = 32 SEQ_MS array entries."""
ARRAY_SIZE = 32
SQN_MAX = (1 << 48) - 1
SEQ_MAX = (1 << 43) - 1

SW_OK = 0
#: the AKA algorithms by name, valued as AlgoParameter.algorithmID of the TCA profile package (§8.6.3)
ALGORITHMS = {"milenage": ALGORITHM_MILENAGE, "usim-test-algorithm": ALGORITHM_TEST}
cdef dict _ALGORITHM_NAMES = {v: k for k, v in ALGORITHMS.items()}
SYNC_FAILURE = 1
MAC_FAILURE = 2

# rotation amounts r1..r5 of TS 35.206 §4.1, in bytes (all are multiples of 8 bits)
cdef enum:
    R1 = 8
    R2 = 0
    R3 = 4
    R4 = 8
    R5 = 12
    IND_MASK = 31
    NIND = 32


cdef inline uint64_t load48(const unsigned char* p) noexcept nogil:
    return ((<uint64_t>p[0] << 40) | (<uint64_t>p[1] << 32) | (<uint64_t>p[2] << 24)
            | (<uint64_t>p[3] << 16) | (<uint64_t>p[4] << 8) | <uint64_t>p[5])


cdef inline void store48(uint64_t v, unsigned char* p) noexcept nogil:
    p[0] = (v >> 40) & 0xFF
    p[1] = (v >> 32) & 0xFF
    p[2] = (v >> 24) & 0xFF
    p[3] = (v >> 16) & 0xFF
    p[4] = (v >> 8) & 0xFF
    p[5] = v & 0xFF


cdef inline void out_block(const unsigned char* x, int rot, unsigned char c,
                           unsigned char* blk) noexcept nogil:
    """blk = rot(x, r) XOR c, with x = TEMP XOR OPc (TS 35.206 §4.1)."""
    cdef int i
    for i in range(16):
        blk[i] = x[(i + rot) & 15]
    blk[15] ^= c


cdef inline bint equal8(const unsigned char* a, const unsigned char* b) noexcept nogil:
    cdef unsigned char d = 0
    cdef int i
    for i in range(8):
        d |= a[i] ^ b[i]
    return d == 0


def _buf(value, int n, str name) -> bytes:
    if type(value) is bytes and len(<bytes>value) == n:
        return value
    if isinstance(value, str):
        value = bytes.fromhex(value)
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be bytes, not {type(value).__name__}")
    value = bytes(value)
    if len(value) != n:
        raise ValueError(f"{name} must be {n} bytes, got {len(value)}")
    return value


def _sqn_bytes(sqn) -> bytes:
    if isinstance(sqn, int):
        if not 0 <= sqn <= SQN_MAX:
            raise ValueError(f"SQN out of range (48 bits): {sqn}")
        return sqn.to_bytes(6, "big")
    return _buf(sqn, 6, "SQN")


cdef int _algorithm_id(name) except -1:
    try:
        return ALGORITHMS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown AKA algorithm {name!r}: one of {', '.join(ALGORITHMS)}") from None


def sqn_split(sqn: int) -> tuple[int, int]:
    """SQN -> (SEQ, IND), TS 33.102 Annex C (IND = the 5 least significant bits)."""
    return sqn >> IND_BITS, sqn & (ARRAY_SIZE - 1)


def sqn_join(seq: int, ind: int) -> int:
    """(SEQ, IND) -> SQN = SEQ || IND, TS 33.102 Annex C."""
    if not 0 <= ind < ARRAY_SIZE or not 0 <= seq <= SEQ_MAX:
        raise ValueError(f"SEQ/IND out of range: {seq}/{ind}")
    return (seq << IND_BITS) | ind


#: AES-128-ECB fetched once from the default provider: OpenSSL 3 looks an algorithm up (under
#: its locks) on every EVP_EncryptInit_ex given EVP_aes_128_ecb(), an explicitly fetched one it
#: does not (OpenSSL 3 migration guide, "Fetching algorithms")
cdef const EVP_CIPHER* _AES_128_ECB = EVP_CIPHER_fetch(NULL, b"AES-128-ECB", NULL)
if _AES_128_ECB == NULL:
    raise ImportError("libcrypto has no AES-128-ECB in its default provider")


def compute_opc(k, op) -> bytes:
    """OPc = OP XOR E_K(OP), TS 35.206 §4.1."""
    cdef bytes kb = _buf(k, 16, "K")
    cdef bytes opb = _buf(op, 16, "OP")
    cdef unsigned char out[16]
    cdef int outl = 0
    cdef int i
    cdef EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new()
    if ctx == NULL:
        raise MemoryError("EVP_CIPHER_CTX_new failed")
    try:
        if (EVP_EncryptInit_ex(ctx, _AES_128_ECB, NULL, kb, NULL) != 1
                or EVP_CIPHER_CTX_set_padding(ctx, 0) != 1
                or EVP_EncryptUpdate(ctx, out, &outl, opb, 16) != 1):
            raise RuntimeError("AES-128 encryption failed in libcrypto")
    finally:
        EVP_CIPHER_CTX_free(ctx)
    for i in range(16):
        out[i] ^= (<const unsigned char*>opb)[i]
    return out[:16]


cdef inline void xdout(const unsigned char* k, const unsigned char* rand, unsigned char* x) noexcept nogil:
    """XDOUT = K XOR RAND (TS 34.108 §8.1.2.1)."""
    cdef int i
    for i in range(16):
        x[i] = k[i] ^ rand[i]


cdef inline void test_f2345(const unsigned char* x, unsigned char* ck, unsigned char* ik,
                            unsigned char* ak) noexcept nogil:
    """f3: CK = XDOUT rotated left by 8 bits, f4: IK by 16 bits, f5: AK = XDOUT bits 24..71
    (TS 34.108 §8.1.2.2-§8.1.2.3); f2 is RES = XDOUT itself."""
    cdef int i
    for i in range(16):
        ck[i] = x[(i + 1) & 15]
        ik[i] = x[(i + 2) & 15]
    memcpy(ak, x + 3, 6)


cdef inline void test_f1(const unsigned char* x, const unsigned char* sqn, const unsigned char* amf,
                         unsigned char* mac) noexcept nogil:
    """f1 (and f1*): MAC = XDOUT bits 0..63 XOR CDOUT, CDOUT = SQN || AMF (TS 34.108 §8.1.2.1)."""
    cdef int i
    for i in range(6):
        mac[i] = x[i] ^ sqn[i]
    mac[6] = x[6] ^ amf[0]
    mac[7] = x[7] ^ amf[1]


cdef class Milenage:
    """Milenage for one (K, OPc) pair, TS 35.206.

    The C-level methods (``f1``, ``f2345``, ``f5star``) take raw buffers; Python code uses
    ``compute_f1``, ``compute_f2345`` and ``compute_f5star``, which return bytes.
    """

    def __cinit__(self, k, opc):
        cdef bytes kb = _buf(k, 16, "K")
        cdef bytes ob = _buf(opc, 16, "OPc")
        memcpy(self.opc, <const unsigned char*>ob, 16)
        self.ctx = EVP_CIPHER_CTX_new()
        if self.ctx == NULL:
            raise MemoryError("EVP_CIPHER_CTX_new failed")
        if (EVP_EncryptInit_ex(self.ctx, _AES_128_ECB, NULL, kb, NULL) != 1
                or EVP_CIPHER_CTX_set_padding(self.ctx, 0) != 1):
            raise RuntimeError("AES-128 key setup failed in libcrypto")

    def __dealloc__(self):
        if self.ctx != NULL:
            EVP_CIPHER_CTX_free(self.ctx)
            self.ctx = NULL

    # -- C level ------------------------------------------------------------------------------

    cdef void encrypt(self, const unsigned char* inp, unsigned char* out, int nblocks) noexcept nogil:
        """E_K on nblocks independent 16-byte blocks (ECB), one libcrypto call."""
        cdef int outl = 0
        EVP_EncryptUpdate(self.ctx, out, &outl, inp, 16 * nblocks)

    cdef void temp(self, const unsigned char* rand, unsigned char* temp) noexcept nogil:
        """TEMP = E_K(RAND XOR OPc)."""
        cdef unsigned char blk[16]
        cdef int i
        for i in range(16):
            blk[i] = rand[i] ^ self.opc[i]
        self.encrypt(blk, temp, 1)

    cdef void out1(self, const unsigned char* temp, const unsigned char* sqn, const unsigned char* amf,
                   unsigned char* out) noexcept nogil:
        """OUT1 = E_K(TEMP XOR rot(IN1 XOR OPc, r1) XOR c1) XOR OPc, IN1 = SQN||AMF||SQN||AMF."""
        cdef unsigned char in1[16]
        cdef unsigned char blk[16]
        cdef int i
        memcpy(in1, sqn, 6)
        memcpy(in1 + 6, amf, 2)
        memcpy(in1 + 8, sqn, 6)
        memcpy(in1 + 14, amf, 2)
        for i in range(16):
            blk[i] = temp[i] ^ in1[(i + R1) & 15] ^ self.opc[(i + R1) & 15]
        self.encrypt(blk, out, 1)
        for i in range(16):
            out[i] ^= self.opc[i]

    cdef void out234(self, const unsigned char* temp, unsigned char* out) noexcept nogil:
        """OUT2 || OUT3 || OUT4 (48 bytes) in one ECB call."""
        cdef unsigned char x[16]
        cdef unsigned char blk[48]
        cdef int i
        for i in range(16):
            x[i] = temp[i] ^ self.opc[i]
        out_block(x, R2, 1, blk)
        out_block(x, R3, 2, blk + 16)
        out_block(x, R4, 4, blk + 32)
        self.encrypt(blk, out, 3)
        for i in range(48):
            out[i] ^= self.opc[i & 15]

    cdef void f1(self, const unsigned char* rand, const unsigned char* sqn, const unsigned char* amf,
                 unsigned char* mac_a, unsigned char* mac_s) noexcept nogil:
        """f1 (MAC-A, 8 bytes) and f1* (MAC-S, 8 bytes); either output pointer may be NULL."""
        cdef unsigned char t[16]
        cdef unsigned char o[16]
        self.temp(rand, t)
        self.out1(t, sqn, amf, o)
        if mac_a != NULL:
            memcpy(mac_a, o, 8)
        if mac_s != NULL:
            memcpy(mac_s, o + 8, 8)

    cdef void f2345(self, const unsigned char* rand, unsigned char* res, unsigned char* ck,
                    unsigned char* ik, unsigned char* ak) noexcept nogil:
        """f2 (RES 8), f3 (CK 16), f4 (IK 16), f5 (AK 6)."""
        cdef unsigned char t[16]
        cdef unsigned char o[48]
        self.temp(rand, t)
        self.out234(t, o)
        memcpy(res, o + 8, 8)
        memcpy(ak, o, 6)
        memcpy(ck, o + 16, 16)
        memcpy(ik, o + 32, 16)

    cdef void f5star(self, const unsigned char* rand, unsigned char* ak_s) noexcept nogil:
        """f5* (AK*, 6 bytes) = first 48 bits of OUT5."""
        cdef unsigned char t[16]
        cdef unsigned char x[16]
        cdef unsigned char blk[16]
        cdef unsigned char o[16]
        cdef int i
        self.temp(rand, t)
        for i in range(16):
            x[i] = t[i] ^ self.opc[i]
        out_block(x, R5, 8, blk)
        self.encrypt(blk, o, 1)
        for i in range(6):
            ak_s[i] = o[i] ^ self.opc[i]

    # -- Python level ---------------------------------------------------------------------------

    def compute_f1(self, rand, sqn, amf) -> tuple[bytes, bytes]:
        """(MAC-A, MAC-S) = (f1, f1*)(K, SQN, RAND, AMF), TS 35.206 §4.1."""
        cdef bytes r = _buf(rand, 16, "RAND")
        cdef bytes s = _sqn_bytes(sqn)
        cdef bytes a = _buf(amf, 2, "AMF")
        cdef unsigned char mac_a[8]
        cdef unsigned char mac_s[8]
        self.f1(r, s, a, mac_a, mac_s)
        return mac_a[:8], mac_s[:8]

    def compute_f2345(self, rand) -> tuple[bytes, bytes, bytes, bytes]:
        """(RES, CK, IK, AK) = (f2, f3, f4, f5)(K, RAND), TS 35.206 §4.1."""
        cdef bytes r = _buf(rand, 16, "RAND")
        cdef unsigned char res[8]
        cdef unsigned char ck[16]
        cdef unsigned char ik[16]
        cdef unsigned char ak[6]
        self.f2345(r, res, ck, ik, ak)
        return res[:8], ck[:16], ik[:16], ak[:6]

    def compute_f5star(self, rand) -> bytes:
        """AK* = f5*(K, RAND), TS 35.206 §4.1."""
        cdef bytes r = _buf(rand, 16, "RAND")
        cdef unsigned char ak_s[6]
        self.f5star(r, ak_s)
        return ak_s[:6]


cdef inline void gsm_convert(const unsigned char* res, int res_len, const unsigned char* ck,
                             const unsigned char* ik, unsigned char* sres, unsigned char* kc) noexcept nogil:
    """Conversion functions c2 (SRES: the 32-bit words of RES, zero-padded to 128 bits, XORed) and
    c3 (Kc), TS 33.102 §6.8.1.2."""
    cdef int i
    for i in range(4):
        sres[i] = res[i]
    for i in range(4, res_len):
        sres[i & 3] ^= res[i]
    for i in range(8):
        kc[i] = ck[i] ^ ck[i + 8] ^ ik[i] ^ ik[i + 8]


def gsm_from_umts(res, ck, ik) -> tuple[bytes, bytes]:
    """(SRES, Kc) from (RES, CK, IK) with c2 and c3, TS 33.102 §6.8.1.2 (64-bit RES)."""
    cdef bytes r = _buf(res, 8, "RES")
    cdef bytes c = _buf(ck, 16, "CK")
    cdef bytes i = _buf(ik, 16, "IK")
    cdef unsigned char sres[4]
    cdef unsigned char kc[8]
    gsm_convert(r, 8, c, i, sres, kc)
    return sres[:4], kc[:8]


cdef dict _schedules = {}  # (K, OPc) -> Milenage
cdef enum:
    _SCHEDULE_LIMIT = 256


cdef Milenage _milenage(bytes k, bytes opc):
    """The :class:`Milenage` of (K, OPc): one key schedule per pair (a bounded table)."""
    key = (k, opc)
    cdef Milenage mil = _schedules.get(key)
    if mil is None:
        mil = Milenage(k, opc)
        if len(_schedules) >= _SCHEDULE_LIMIT:
            _schedules.clear()
        _schedules[key] = mil
    return mil


cdef class UsimAuth:
    """The USIM side of AKA for one subscriber.

    AUTN check per TS 33.102 §6.3.3
    SQN freshness per Annex C.2 with the array SEQ_MS(0..31)
    indexed by IND (the 5 low bits of SQN). ``delta`` (Annex C.2.1: accept only if
    SEQ - SEQ_MS <= delta) and ``limit`` (Annex C.2.2: accept only if SEQ_MS - SEQ < L) are
    optional
    0 means the check is not applied. SEQ_MS there is the SEQ of SQN_MS, the highest
    sequence number accepted so far. The AMF is not checked: the E-UTRAN "separation bit" is a
    terminal-side check, not a USIM one.

    ``algorithm`` is ``"milenage"`` (TS 35.206) or ``"usim-test-algorithm"`` (TS 34.108 §8.1.2,
    which ignores OPc: it may be None).

    ``UsimAuth(**auth.state())`` rebuilds an equal object (persistence).
    """

    def __cinit__(self, ki, opc, sqn=None, sqn_array=None, delta=0, limit=0, algorithm="milenage"):
        cdef int i
        self.algorithm = _algorithm_id(algorithm)
        self.ki = _buf(ki, 16, "Ki")
        memcpy(self.k, <const unsigned char*>self.ki, 16)
        if self.algorithm == ALGORITHM_TEST:
            self.opc_bytes = bytes(16) if opc is None else _buf(opc, 16, "OPc")
            self.mil = None
        else:
            self.opc_bytes = _buf(opc, 16, "OPc")
            self.mil = _milenage(self.ki, self.opc_bytes)
        if (delta == 0 and limit == 0 and (sqn_array is None or len(sqn_array) == 0)
                and (sqn is None or (type(sqn) is int and 0 <= sqn <= SQN_MAX))):
            # fresh subscriber: SEQ_MS all zero but for the IND of ``sqn``
            memset(self.seq_ms, 0, sizeof(self.seq_ms))
            self.sqn_ms = 0 if sqn is None else <uint64_t>sqn
            self.seq_ms[self.sqn_ms & IND_MASK] = self.sqn_ms >> IND_BITS
            self.delta = 0
            self.limit = 0
            return
        if sqn_array is None or len(sqn_array) == 0:
            sqn_array = [0] * ARRAY_SIZE
            if sqn:
                sqn_array[int(sqn) & IND_MASK] = int(sqn) >> IND_BITS
        if len(sqn_array) != ARRAY_SIZE:
            raise ValueError(f"sqn_array must have {ARRAY_SIZE} entries (IND on {IND_BITS} bits)")
        for i in range(ARRAY_SIZE):
            v = int(sqn_array[i])
            if not 0 <= v <= SEQ_MAX:
                raise ValueError(f"sqn_array[{i}] out of range (SEQ is 43 bits): {v}")
            self.seq_ms[i] = v
        if sqn is None:
            # highest accepted SQN anywhere in the array
            best = 0
            for i in range(ARRAY_SIZE):
                if self.seq_ms[i]:
                    best = max(best, (int(self.seq_ms[i]) << IND_BITS) | i)
            sqn = best
        sqn = int(sqn)
        if not 0 <= sqn <= SQN_MAX:
            raise ValueError(f"sqn out of range (48 bits): {sqn}")
        if self.seq_ms[sqn & IND_MASK] < (sqn >> IND_BITS):
            raise ValueError("sqn is higher than the SEQ_MS entry of its IND")
        if max(self.sqn_array) > (sqn >> IND_BITS):
            raise ValueError("sqn must be the highest sequence number accepted in sqn_array")
        self.sqn_ms = sqn
        if int(delta) < 0 or int(limit) < 0:
            raise ValueError("delta and limit must be >= 0 (0 = not applied)")
        self.delta = int(delta)
        self.limit = int(limit)

    # -- C level ------------------------------------------------------------------------------

    cdef int authenticate_3g(self, const unsigned char* rand, const unsigned char* autn, bint with_kc,
                             unsigned char* out, int* outlen) noexcept:
        cdef unsigned char t[16]   # TEMP (Milenage) or XDOUT (test algorithm)
        cdef unsigned char o234[48]
        cdef unsigned char o1[16]
        cdef unsigned char sqn_b[6]
        cdef const unsigned char* res
        cdef const unsigned char* ck
        cdef const unsigned char* ik
        cdef int res_len, n
        cdef uint64_t sqn, seq, seq_top
        cdef unsigned int ind
        cdef int i
        cdef Milenage mil = self.mil
        if self.algorithm == ALGORITHM_TEST:
            xdout(self.k, rand, t)
            test_f2345(t, o234 + 16, o234 + 32, o234)
            res = t
            res_len = 16
        else:
            mil.temp(rand, t)
            mil.out234(t, o234)
            res = o234 + 8
            res_len = 8
        ck = o234 + 16
        ik = o234 + 32
        # SQN = (SQN XOR AK) XOR AK, AK = OUT2[0..5] (Milenage) or XDOUT[3..8] (test algorithm)
        for i in range(6):
            sqn_b[i] = autn[i] ^ o234[i]
        if self.algorithm == ALGORITHM_TEST:
            test_f1(t, sqn_b, autn + 6, o1)
        else:
            mil.out1(t, sqn_b, autn + 6, o1)
        if not equal8(o1, autn + 8):
            outlen[0] = 0
            return 2
        sqn = load48(sqn_b)
        seq = sqn >> 5
        ind = <unsigned int>(sqn & IND_MASK)
        seq_top = self.sqn_ms >> 5
        if ((self.delta != 0 and seq > seq_top and seq - seq_top > self.delta)
                or (self.limit != 0 and seq < seq_top and seq_top - seq >= self.limit)
                or seq <= self.seq_ms[ind]):
            self.sync_failure(t, out)
            outlen[0] = 16
            return 1
        self.seq_ms[ind] = seq
        if sqn > self.sqn_ms:
            self.sqn_ms = sqn
        # DB L RES 10 CK 10 IK [08 Kc], TS 31.102 §7.1.2.1
        out[0] = 0xDB
        out[1] = res_len
        memcpy(out + 2, res, res_len)
        n = 2 + res_len
        out[n] = 16
        memcpy(out + n + 1, ck, 16)
        out[n + 17] = 16
        memcpy(out + n + 18, ik, 16)
        n += 34
        if with_kc:
            out[n] = 8
            for i in range(8):
                out[n + 1 + i] = ck[i] ^ ck[8 + i] ^ ik[i] ^ ik[8 + i]
            n += 9
        outlen[0] = n
        return 0

    cdef void sync_failure(self, const unsigned char* temp, unsigned char* out) noexcept nogil:
        """DC 0E AUTS, AUTS = (SQN_MS XOR AK*) || MAC-S, MAC-S = f1*(SQN_MS, RAND, AMF=0000);
        ``temp`` is TEMP (Milenage) or XDOUT (the test algorithm, where f5* = f5, f1* = f1)."""
        cdef unsigned char x[16]
        cdef unsigned char blk[32]
        cdef unsigned char o[32]
        cdef unsigned char in1[16]
        cdef int i
        store48(self.sqn_ms, in1)
        in1[6] = 0
        in1[7] = 0
        out[0] = 0xDC
        out[1] = 14
        if self.algorithm == ALGORITHM_TEST:
            for i in range(6):
                out[2 + i] = in1[i] ^ temp[3 + i]
            test_f1(temp, in1, in1 + 6, out + 8)
            return
        memcpy(in1 + 8, in1, 8)
        for i in range(16):
            x[i] = temp[i] ^ self.mil.opc[i]
            blk[i] = temp[i] ^ in1[(i + R1) & 15] ^ self.mil.opc[(i + R1) & 15]
        out_block(x, R5, 8, blk + 16)
        self.mil.encrypt(blk, o, 2)
        for i in range(6):
            out[2 + i] = in1[i] ^ o[16 + i] ^ self.mil.opc[i]
        for i in range(8):
            out[8 + i] = o[8 + i] ^ self.mil.opc[8 + i]

    cdef int authenticate_gsm(self, const unsigned char* rand, unsigned char* out, int* outlen) noexcept:
        cdef unsigned char t[16]
        cdef unsigned char o234[48]
        out[0] = 4
        out[5] = 8
        if self.algorithm == ALGORITHM_TEST:
            xdout(self.k, rand, t)
            test_f2345(t, o234 + 16, o234 + 32, o234)
            gsm_convert(t, 16, o234 + 16, o234 + 32, out + 1, out + 6)
        else:
            self.mil.temp(rand, t)
            self.mil.out234(t, o234)
            gsm_convert(o234 + 8, 8, o234 + 16, o234 + 32, out + 1, out + 6)
        outlen[0] = 14
        return 0

    # -- Python level ---------------------------------------------------------------------------

    def authenticate(self, rand, autn, with_kc: bool = False) -> tuple[int, bytes]:
        """3G/EPS security context AUTHENTICATE (TS 31.102 §7.1.2).

        Returns ``(0, DB..)`` on success, ``(1, DC 0E AUTS)`` on a synchronisation failure,
        ``(2, b"")`` on a MAC failure (the card answers SW 98 62).
        """
        cdef bytes r = _buf(rand, 16, "RAND")
        cdef bytes a = _buf(autn, 16, "AUTN")
        cdef unsigned char out[64]
        cdef int n = 0
        cdef int rc = self.authenticate_3g(r, a, with_kc, out, &n)
        return rc, out[:n]

    def authenticate_gsm_context(self, rand) -> bytes:
        """GSM security context AUTHENTICATE: ``04 SRES 08 Kc`` (TS 31.102 §7.1.2, c2/c3)."""
        cdef bytes r = _buf(rand, 16, "RAND")
        cdef unsigned char out[16]
        cdef int n = 0
        self.authenticate_gsm(r, out, &n)
        return out[:n]

    def copy(self) -> UsimAuth:
        """An equal, independent object: same keys (one key schedule), SQN state and limits."""
        cdef UsimAuth c = UsimAuth.__new__(UsimAuth, self.ki, self.opc_bytes,
                                           algorithm=_ALGORITHM_NAMES[self.algorithm])
        memcpy(c.seq_ms, self.seq_ms, sizeof(self.seq_ms))
        c.sqn_ms = self.sqn_ms
        c.delta = self.delta
        c.limit = self.limit
        return c

    @property
    def milenage(self) -> Milenage:
        """The Milenage key schedule (None with the test algorithm)."""
        return self.mil

    @property
    def algorithm_name(self) -> str:
        """``"milenage"`` or ``"usim-test-algorithm"``."""
        return _ALGORITHM_NAMES[self.algorithm]

    @property
    def sqn(self) -> int:
        """SQN_MS: the highest sequence number accepted so far."""
        return self.sqn_ms

    @property
    def sqn_array(self) -> list[int]:
        """SEQ_MS(0..31), TS 33.102 Annex C.2.2."""
        return [self.seq_ms[i] for i in range(NIND)]

    def state(self) -> dict:
        """Everything needed to rebuild this object: ``UsimAuth(**state)``."""
        return {
            "ki": self.ki,
            "opc": self.opc_bytes,
            "sqn": self.sqn_ms,
            "sqn_array": self.sqn_array,
            "delta": self.delta,
            "limit": self.limit,
            "algorithm": _ALGORITHM_NAMES[self.algorithm],
        }

    def __reduce__(self):
        return (_rebuild_usim_auth, (self.state(),))

    def __eq__(self, other):
        if not isinstance(other, UsimAuth):
            return NotImplemented
        return self.state() == other.state()

    __hash__ = None

    def __repr__(self) -> str:
        return f"UsimAuth(sqn={self.sqn_ms:#014x}, delta={self.delta}, limit={self.limit})"


def _rebuild_usim_auth(state: dict) -> UsimAuth:
    return UsimAuth(**state)


cdef void eps_vector(Milenage mil, const unsigned char* rand, uint64_t sqn, const unsigned char* amf,
                     EpsVector* v) noexcept nogil:
    """AUTN, XRES, CK, IK and AK for a 16-byte RAND, SQN (48 bits) and a 2-byte AMF into ``v``:
    TEMP once, then OUT1 for MAC-A (f1) and OUT2..OUT4 for RES (f2), AK (f5), CK (f3) and IK (f4)
    (TS 35.206 §4.1); AUTN = SQN xor AK || AMF || MAC-A (TS 33.102 §6.3.2)."""
    cdef unsigned char sqn_b[6]
    cdef unsigned char t[16]
    cdef unsigned char o1[16]
    cdef unsigned char o234[48]
    cdef int i
    store48(sqn, sqn_b)
    mil.temp(rand, t)
    mil.out1(t, sqn_b, amf, o1)
    mil.out234(t, o234)
    memcpy(v.ak, o234, 6)
    for i in range(6):
        v.autn[i] = sqn_b[i] ^ o234[i]
    memcpy(v.autn + 6, amf, 2)
    memcpy(v.autn + 8, o1, 8)
    memcpy(v.xres, o234 + 8, 8)
    v.res_len = 8
    memcpy(v.ck, o234 + 16, 16)
    memcpy(v.ik, o234 + 32, 16)


cdef void test_vector(const unsigned char* k, const unsigned char* rand, uint64_t sqn,
                      const unsigned char* amf, EpsVector* v) noexcept nogil:
    """The same as ``eps_vector`` with the 3GPP test algorithm (TS 34.108 §8.1.2): XRES = XDOUT
    (128 bits), CK, IK, AK from XDOUT; AUTN = SQN xor AK || AMF || XDOUT[0..7] xor (SQN || AMF)."""
    cdef unsigned char sqn_b[6]
    cdef int i
    store48(sqn, sqn_b)
    xdout(k, rand, v.xres)
    v.res_len = 16
    test_f2345(v.xres, v.ck, v.ik, v.ak)
    for i in range(6):
        v.autn[i] = sqn_b[i] ^ v.ak[i]
    memcpy(v.autn + 6, amf, 2)
    test_f1(v.xres, sqn_b, amf, v.autn + 8)


def generate_vector(k, opc, sqn, amf, rand, algorithm: str = "milenage") -> dict:
    """Authentication vector from the AuC (TS 33.102 §6.3.2).

    Returns ``rand, autn, xres, ck, ik, ak`` and the GSM values ``sres, kc`` (c2/c3,
    §6.8.1.2). ``sqn`` is an int or 6 bytes; AUTN = (SQN XOR AK) || AMF || MAC-A. With
    ``algorithm="usim-test-algorithm"`` (TS 34.108 §8.1.2) ``opc`` is ignored and XRES has 16 bytes.
    """
    cdef bytes r = _buf(rand, 16, "RAND")
    cdef bytes a = _buf(amf, 2, "AMF")
    cdef uint64_t s = load48(_sqn_bytes(sqn))
    cdef int algo = _algorithm_id(algorithm)
    cdef bytes kb
    cdef EpsVector v
    cdef unsigned char sres[4]
    cdef unsigned char kc[8]
    if algo == ALGORITHM_TEST:
        kb = _buf(k, 16, "K")
        test_vector(kb, r, s, a, &v)
    else:
        eps_vector(Milenage(k, opc), r, s, a, &v)
    gsm_convert(v.xres, v.res_len, v.ck, v.ik, sres, kc)
    return {
        "rand": r,
        "autn": v.autn[:16],
        "xres": v.xres[:v.res_len],
        "ck": v.ck[:16],
        "ik": v.ik[:16],
        "ak": v.ak[:6],
        "sres": sres[:4],
        "kc": kc[:8],
    }


def resync(k, opc, rand, auts, algorithm: str = "milenage"):
    """SQN_MS recovered from AUTS by the AuC (TS 33.102 §6.3.5), or None if MAC-S is wrong.

    SQN_MS = (AUTS[0:6] XOR f5*(RAND))
    MAC-S must equal f1*(SQN_MS, RAND, AMF = 0000). ``algorithm`` as in :func:`generate_vector`.
    """
    cdef bytes r = _buf(rand, 16, "RAND")
    cdef bytes au = _buf(auts, 14, "AUTS")
    cdef int algo = _algorithm_id(algorithm)
    cdef bytes kb
    cdef Milenage mil
    cdef unsigned char x[16]
    cdef unsigned char ak_s[6]
    cdef unsigned char sqn_ms[6]
    cdef unsigned char mac_s[8]
    cdef unsigned char amf0[2]
    cdef int i
    amf0[0] = 0
    amf0[1] = 0
    if algo == ALGORITHM_TEST:
        kb = _buf(k, 16, "K")
        xdout(kb, r, x)
        memcpy(ak_s, x + 3, 6)
    else:
        mil = Milenage(k, opc)
        mil.f5star(r, ak_s)
    for i in range(6):
        sqn_ms[i] = (<const unsigned char*>au)[i] ^ ak_s[i]
    if algo == ALGORITHM_TEST:
        test_f1(x, sqn_ms, amf0, mac_s)
    else:
        mil.f1(r, sqn_ms, amf0, NULL, mac_s)
    if not equal8(mac_s, (<const unsigned char*>au) + 6):
        return None
    return load48(sqn_ms)

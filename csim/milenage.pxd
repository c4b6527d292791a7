# cython: language_level=3
"""C-level interface of Milenage, the 3GPP test algorithm and the USIM side of AKA.

Milenage: 3GPP TS 35.206. Test algorithm: TS 34.108 §8.1.2. Authentication vectors: TS 33.102
§6.3.2. Sequence number handling: TS 33.102 Annex C.
AUTHENTICATE response layouts: TS 31.102 §7.1.2.
"""

from libc.stdint cimport uint64_t


cdef extern from "openssl/evp.h" nogil:
    ctypedef struct EVP_CIPHER_CTX:
        pass
    ctypedef struct EVP_CIPHER:
        pass
    ctypedef struct ENGINE:
        pass
    ctypedef struct OSSL_LIB_CTX:
        pass
    EVP_CIPHER_CTX* EVP_CIPHER_CTX_new()
    void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX* ctx)
    int EVP_CIPHER_CTX_set_padding(EVP_CIPHER_CTX* ctx, int pad)
    EVP_CIPHER* EVP_CIPHER_fetch(OSSL_LIB_CTX* ctx, const char* algorithm, const char* properties)
    int EVP_EncryptInit_ex(EVP_CIPHER_CTX* ctx, const EVP_CIPHER* cipher, ENGINE* impl,
                           const unsigned char* key, const unsigned char* iv)
    int EVP_EncryptUpdate(EVP_CIPHER_CTX* ctx, unsigned char* out, int* outl,
                          const unsigned char* inp, int inl)


cdef class Milenage:
    """K and OPc fixed at construction; the AES-128 key schedule is kept in an EVP context."""
    cdef EVP_CIPHER_CTX* ctx
    cdef unsigned char opc[16]

    cdef void encrypt(self, const unsigned char* inp, unsigned char* out, int nblocks) noexcept nogil
    cdef void temp(self, const unsigned char* rand, unsigned char* temp) noexcept nogil
    cdef void out1(self, const unsigned char* temp, const unsigned char* sqn, const unsigned char* amf,
                   unsigned char* out) noexcept nogil
    cdef void out234(self, const unsigned char* temp, unsigned char* out) noexcept nogil

    cdef void f1(self, const unsigned char* rand, const unsigned char* sqn, const unsigned char* amf,
                 unsigned char* mac_a, unsigned char* mac_s) noexcept nogil
    cdef void f2345(self, const unsigned char* rand, unsigned char* res, unsigned char* ck,
                    unsigned char* ik, unsigned char* ak) noexcept nogil
    cdef void f5star(self, const unsigned char* rand, unsigned char* ak_s) noexcept nogil


# an authentication vector of the AuC (TS 33.102 §6.3.2), as the MME takes it (TS 33.401 §6.1.1)
ctypedef struct EpsVector:
    unsigned char autn[16]  # SQN xor AK || AMF || MAC-A
    unsigned char xres[16]
    int res_len             # 8 (Milenage) or 16 (test algorithm)
    unsigned char ck[16]
    unsigned char ik[16]
    unsigned char ak[6]


# AUTN, XRES, CK, IK and AK of a 16-byte RAND, SQN (48 bits) and a 2-byte AMF
cdef void eps_vector(Milenage mil, const unsigned char* rand, uint64_t sqn, const unsigned char* amf,
                     EpsVector* v) noexcept nogil
# the same with the 3GPP test algorithm (TS 34.108 §8.1.2) of a 16-byte K
cdef void test_vector(const unsigned char* k, const unsigned char* rand, uint64_t sqn,
                      const unsigned char* amf, EpsVector* v) noexcept nogil

# UsimAuth.algorithm: the AlgoParameter.algorithmID values of the TCA profile package (§8.6.3)
cdef enum:
    ALGORITHM_MILENAGE = 1
    ALGORITHM_TEST = 3


cdef class UsimAuth:
    """The USIM side of AKA for one subscriber (TS 33.102 §6.3.3 and Annex C)."""
    cdef Milenage mil          # None with the test algorithm
    cdef int algorithm         # ALGORITHM_MILENAGE or ALGORITHM_TEST
    cdef unsigned char k[16]   # K, for the test algorithm
    cdef bytes ki
    cdef bytes opc_bytes
    cdef uint64_t seq_ms[32]   # SEQ_MS(i), TS 33.102 Annex C.2.2
    cdef uint64_t sqn_ms       # highest accepted SQN (SEQ || IND) anywhere in the array
    cdef uint64_t delta        # Annex C.2.1 limit on SEQ - SEQ_MS (0 = not applied)
    cdef uint64_t limit        # Annex C.2.2 age limit L on SEQ_MS - SEQ (0 = not applied)

    # writes the AUTHENTICATE response data into out (max 64 bytes) and its length into *outlen;
    # returns 0 success (DB L RES L CK L IK [08 Kc if with_kc]), 1 sync failure (DC 0E AUTS),
    # 2 MAC failure (no data)
    cdef int authenticate_3g(self, const unsigned char* rand, const unsigned char* autn, bint with_kc,
                             unsigned char* out, int* outlen) noexcept
    # GSM security context: 04 SRES 08 Kc (TS 31.102 §7.1.2, TS 33.102 §6.8.1.2 c2/c3)
    cdef void sync_failure(self, const unsigned char* temp, unsigned char* out) noexcept nogil
    cdef int authenticate_gsm(self, const unsigned char* rand, unsigned char* out, int* outlen) noexcept

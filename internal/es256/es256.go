// Package es256 makes ES256 signatures (ECDSA over P-256 with SHA-256,
// RFC 7518 §3.4) for the token minting hot path, in the fixed 64-byte
// R‖S form a JWS carries.
//
// Why not crypto/ecdsa: Go 1.26's ecdsa.SignASN1 costs about 28 µs and
// 59 heap allocations per signature on the build machine, more than the
// rest of a client_credentials token together. Most of that is not the
// curve arithmetic but what surrounds it: a hedged HMAC-DRBG built and
// run per signature, a generic scalar inversion path, the ASN.1 encoding
// the JWS must then undo. This package composes the same constant-time
// building blocks the standard library uses, exported as
// filippo.io/nistec (the P-256 group, the assembly scalar base
// multiplication) and filippo.io/bigmod (constant-time arithmetic modulo
// the group order), into the signing equation of FIPS 186-5 §6.4.1, and
// signs in about half the time with a handful of allocations.
//
// What is written here, and why it is safe:
//   - The nonce k is hedged, as crypto/ecdsa's is: it is derived from
//     32 fresh bytes of crypto/rand together with the private key and the
//     digest, through SHA-512 under a domain label. A broken random
//     source therefore cannot repeat a nonce for two different digests,
//     and without the private key nobody can predict one.
//   - k is taken by rejection, never by reduction: a candidate that is
//     zero or not below the group order n is discarded and the next
//     counter value tried, so k is uniform in [1, n-1] (a candidate is
//     rejected with probability about 2⁻³²).
//   - Every operation on k and on the private key is constant time
//     (nistec, bigmod), except one inversion: k⁻¹ is computed as
//     β·(k·β)⁻¹ with a second secret uniform β from the same SHA-512
//     output, and only the blinded k·β, which is uniform and independent
//     of k, goes through math/big's variable-time ModInverse. This is the
//     blinded inversion OpenSSL long used for ECDSA.
//   - The tests hold it to the RFC 6979 P-256 test vectors (through an
//     injected nonce), to an independent math/big computation of r and s
//     (exactly: ecdsa.Verify would also accept n-s), to crypto/ecdsa.Verify
//     and go-jose, pin the nonce derivation, and fuzz it.
//
// In FIPS 140-3 mode (GODEBUG=fips140=on) a Signer signs with
// crypto/ecdsa instead: this nonce derivation is not an approved DRBG.
package es256

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/fips140"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"
	"math/big"
	"math/bits"

	"filippo.io/bigmod"
	"filippo.io/nistec"
)

// orderBytes is n, the order of the P-256 base point (FIPS 186-5 /
// SP 800-186 §3.2.1.3), big-endian.
var orderBytes = []byte{
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
}

var (
	order    = mustModulus(orderBytes)
	orderBig = new(big.Int).SetBytes(orderBytes)
)

func mustModulus(b []byte) *bigmod.Modulus {
	m, err := bigmod.NewModulus(b)
	if err != nil {
		panic("es256: " + err.Error())
	}
	return m
}

// nonceLabel separates the nonce derivation's SHA-512 input from any
// other use of the same hash.
const nonceLabel = "latchkey es256 hedged nonce v1\x00"

// maxTries bounds the rejection loop. A try fails with probability about
// 2⁻³¹ (k or β out of range), so reaching the bound means a broken hash
// or curve, not bad luck.
const maxTries = 64

// Signer signs with one P-256 private key. It is immutable and safe for
// concurrent use.
type Signer struct {
	d [32]byte // the private scalar, big-endian, in [1, n-1]
	// fips is the key crypto/ecdsa signs with in FIPS 140-3 mode; nil
	// otherwise.
	fips *ecdsa.PrivateKey
}

// New returns a Signer for priv, which must be a P-256 key.
func New(priv *ecdsa.PrivateKey) (*Signer, error) {
	if priv == nil || priv.Curve != elliptic.P256() {
		return nil, errors.New("es256: not a P-256 private key")
	}
	b, err := priv.Bytes()
	if err != nil {
		return nil, fmt.Errorf("es256: %w", err)
	}
	if len(b) != 32 {
		return nil, errors.New("es256: private scalar is not 32 bytes")
	}
	s := &Signer{}
	copy(s.d[:], b)
	// Bytes checked 0 < d < n and that the public point is on the curve,
	// not that it is d·G; a key put together by hand could pair them
	// wrongly, and would then sign tokens nobody can verify.
	Q, err := nistec.NewP256Point().ScalarBaseMult(s.d[:])
	if err != nil {
		return nil, fmt.Errorf("es256: %w", err)
	}
	pub, err := priv.PublicKey.Bytes()
	if err != nil {
		return nil, fmt.Errorf("es256: %w", err)
	}
	if string(Q.Bytes()) != string(pub) {
		return nil, errors.New("es256: public key does not match the private scalar")
	}
	if fips140.Enabled() {
		s.fips = priv
	}
	return s, nil
}

// Sign writes the signature of digest, a SHA-256 hash, to sig as R‖S,
// each 32 bytes big-endian (RFC 7518 §3.4).
func (s *Signer) Sign(sig *[64]byte, digest *[32]byte) error {
	if s.fips != nil {
		return signFIPS(s.fips, sig, digest)
	}
	var in nonceInput
	// crypto/rand.Read does not fail: since Go 1.24 it aborts the process
	// instead, so an error here is never seen.
	if _, err := rand.Read(in.random()); err != nil {
		return fmt.Errorf("es256: %w", err)
	}
	in.set(&s.d, digest)
	defer clear(in[:])
	for try := range maxTries {
		k, beta := in.candidates(try)
		ok := s.signWith(sig, digest, &k, &beta)
		clear(k[:])
		clear(beta[:])
		if ok {
			return nil
		}
	}
	return errors.New("es256: no usable nonce")
}

// nonceInput is what the nonce is hashed from: the label, 32 random bytes
// Z, the private scalar, the digest and a counter, each of fixed length,
// so no two inputs share an encoding.
type nonceInput [len(nonceLabel) + 32 + 32 + 32 + 1]byte

const (
	zAt      = len(nonceLabel)
	dAt      = zAt + 32
	digestAt = dAt + 32
	tryAt    = digestAt + 32
)

func (in *nonceInput) random() []byte { return in[zAt:dAt] }

func (in *nonceInput) set(d, digest *[32]byte) {
	copy(in[:], nonceLabel)
	copy(in[dAt:], d[:])
	copy(in[digestAt:], digest[:])
}

// candidates returns try's candidate nonce k and blinding factor β: the
// two halves of SHA-512(in with the counter set to try).
func (in *nonceInput) candidates(try int) (k, beta [32]byte) {
	in[tryAt] = byte(try)
	h := sha512.Sum512(in[:])
	copy(k[:], h[:32])
	copy(beta[:], h[32:])
	clear(h[:])
	return k, beta
}

// signWith is FIPS 186-5 §6.4.1 with the nonce k and the blinding factor
// beta given: it writes r‖s to sig and reports true, or reports false,
// leaving sig alone, when k or beta is zero or not below n, or r or s
// comes out zero (the caller then tries another nonce).
func (s *Signer) signWith(sig *[64]byte, digest, kb, betab *[32]byte) bool {
	k, err := bigmod.NewNat().SetBytes(kb[:], order)
	if err != nil || k.IsZero() == 1 {
		return false
	}
	beta, err := bigmod.NewNat().SetBytes(betab[:], order)
	if err != nil || beta.IsZero() == 1 {
		return false
	}
	// Best effort: clear the secret values this function holds (k, then
	// k·β in place; β; k⁻¹) when it returns. bigmod's own temporaries
	// cannot be reached from here.
	var kInv *bigmod.Nat
	defer func() {
		clear(k.Bits())
		clear(beta.Bits())
		if kInv != nil {
			clear(kInv.Bits())
		}
	}()

	// R = k·G; r = x(R) mod n. x < p < 2n, so one conditional
	// subtraction reduces it.
	R, err := nistec.NewP256Point().ScalarBaseMult(kb[:])
	if err != nil {
		return false
	}
	x, err := R.BytesX() // fails only for the point at infinity
	if err != nil {
		return false
	}
	r, err := bigmod.NewNat().SetOverflowingBytes(x, order)
	if err != nil || r.IsZero() == 1 {
		return false
	}

	// k⁻¹ = β·(k·β)⁻¹: only the blinded product leaves constant time.
	u := k.Mul(beta, order) // k is not needed past this point
	var ub [32]byte
	if !put32(&ub, u) {
		return false
	}
	ui := new(big.Int).SetBytes(ub[:])
	clear(ub[:])
	if ui.ModInverse(ui, orderBig) == nil {
		return false // u is zero: impossible for k, β in [1, n-1] and n prime
	}
	var ib [32]byte
	ui.FillBytes(ib[:])
	clear(ui.Bits())
	kInv, err = bigmod.NewNat().SetBytes(ib[:], order)
	clear(ib[:])
	if err != nil {
		return false
	}
	kInv.Mul(beta, order)

	// s = k⁻¹·(e + r·d) mod n, with e the digest (256 bits: all of it,
	// reduced once, FIPS 186-5 §6.4.1 step 3).
	e, err := bigmod.NewNat().SetOverflowingBytes(digest[:], order)
	if err != nil {
		return false
	}
	sn, err := bigmod.NewNat().SetBytes(s.d[:], order)
	if err != nil {
		return false
	}
	sn.Mul(r, order).Add(e, order).Mul(kInv, order)
	if sn.IsZero() == 1 {
		return false
	}
	var rb, sb [32]byte
	if !put32(&rb, r) || !put32(&sb, sn) {
		return false
	}
	copy(sig[:32], rb[:])
	copy(sig[32:], sb[:])
	return true
}

// put32 writes x, a number modulo n, to out big-endian, as x.Bytes(order)
// would without allocating. It reports false if x is not held in exactly
// 256 bits of limbs, which a number sized for n always is.
func put32(out *[32]byte, x *bigmod.Nat) bool {
	limbs := x.Bits() // least significant first
	const limbBytes = bits.UintSize / 8
	if len(limbs)*limbBytes != len(out) {
		return false
	}
	for i, l := range limbs {
		for j := range limbBytes {
			out[len(out)-1-i*limbBytes-j] = byte(l >> (8 * j))
		}
	}
	return true
}

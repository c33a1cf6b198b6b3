package es256

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"sync"
	"testing"
	"testing/cryptotest"

	"filippo.io/bigmod"
	"filippo.io/nistec"
	"github.com/go-jose/go-jose/v4"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keyFromScalar(t testing.TB, d []byte) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newSigner returns a fresh P-256 key and its Signer.
func newSigner(tb testing.TB) (*ecdsa.PrivateKey, *Signer) {
	tb.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return priv, s
}

func verifies(pub *ecdsa.PublicKey, digest []byte, sig *[64]byte) bool {
	return ecdsa.Verify(pub, digest, new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
}

// TestKnownAnswers holds signWith, the signing equation, to published
// P-256/SHA-256 vectors with their nonces: RFC 6979 §A.2.5 and NIST's
// ECDSA example. Every blinding factor must give the same signature.
func TestKnownAnswers(t *testing.T) {
	const rfcKey = "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721"
	tests := []struct {
		name, d, msg, k, r, s string
	}{
		{"rfc6979 sample", rfcKey, "sample",
			"A6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60",
			"EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
			"F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"},
		{"rfc6979 test", rfcKey, "test",
			"D16B6AE827F17175E040871A1C7EC3500192C4C92677336EC2537ACAEE0008E0",
			"F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367",
			"019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083"},
		{"nist example", "C477F9F65C22CCE20657FAA5B2D1D8122336F851A508A1ED04E479C34985BF96", "Example of ECDSA with P-256",
			"7A1A7E52797FC8CAAA435D2A4DACE39158504BF204FBE19F14DBB427FAEE50AE",
			"2B42F576D07F4165FF65D1F3B1500F81E44C316F1F0B3EF57325B69ACA46104F",
			"DC42C2122D6392CD3E3A993A89502A8198C1886FE69D262C4B329BDB6B63FAF1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			priv := keyFromScalar(t, mustHex(t, tt.d))
			s, err := New(priv)
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256.Sum256([]byte(tt.msg))
			want := append(mustHex(t, tt.r), mustHex(t, tt.s)...)
			betas := [][32]byte{{31: 1}, {0: 0x7f, 31: 0x55}, [32]byte(mustHex(t, tt.k))}
			var rnd [32]byte
			rand.Read(rnd[:])
			rnd[0] &= 0x7f // below n
			betas = append(betas, rnd)
			for _, beta := range betas {
				var sig [64]byte
				if !s.signWith(&sig, &digest, (*[32]byte)(mustHex(t, tt.k)), &beta) {
					t.Fatalf("beta %x: refused a valid nonce", beta)
				}
				if !bytes.Equal(sig[:], want) {
					t.Fatalf("beta %x:\n got %X\nwant %X", beta, sig, want)
				}
			}
		})
	}
}

// TestOutOfRangeNonces: a nonce or blinding factor that is zero or not
// below n is refused, never reduced (a reduced nonce would be biased).
func TestOutOfRangeNonces(t *testing.T) {
	priv, s := newSigner(t)
	n := [32]byte(orderBytes)
	nPlus1 := n
	nPlus1[31]++
	ones := [32]byte{}
	for i := range ones {
		ones[i] = 0xff
	}
	good := [32]byte{31: 7}
	digest := sha256.Sum256([]byte("x"))
	for _, tt := range []struct {
		name    string
		k, beta [32]byte
	}{
		{"k zero", [32]byte{}, good},
		{"k = n", n, good},
		{"k = n+1", nPlus1, good},
		{"k all ones", ones, good},
		{"beta zero", good, [32]byte{}},
		{"beta = n", good, n},
		{"beta all ones", good, ones},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var sig [64]byte
			if s.signWith(&sig, &digest, &tt.k, &tt.beta) {
				t.Fatal("accepted")
			}
			if sig != [64]byte{} {
				t.Fatal("wrote a signature while refusing")
			}
		})
	}
	// n-1 is the largest valid nonce.
	nMinus1 := n
	nMinus1[31]--
	var sig [64]byte
	if !s.signWith(&sig, &digest, &nMinus1, &good) || !verifies(&priv.PublicKey, digest[:], &sig) {
		t.Fatal("k = n-1 did not give a valid signature")
	}
}

func TestNew(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for _, tt := range []struct {
		name string
		key  *ecdsa.PrivateKey
	}{
		{"nil", nil},
		{"P-384", p384},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.key); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestSignVerifies: signatures from many keys over many digests verify
// with crypto/ecdsa and with go-jose, and two signatures of one digest
// differ (the nonce is hedged, not deterministic).
func TestSignVerifies(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	for i := range rounds {
		priv, s := newSigner(t)
		msg := []byte{byte(i), byte(i >> 8)}
		digest := sha256.Sum256(msg)
		var a, b [64]byte
		if err := s.Sign(&a, &digest); err != nil {
			t.Fatal(err)
		}
		if err := s.Sign(&b, &digest); err != nil {
			t.Fatal(err)
		}
		if !verifies(&priv.PublicKey, digest[:], &a) || !verifies(&priv.PublicKey, digest[:], &b) {
			t.Fatalf("round %d: signature does not verify", i)
		}
		if a == b {
			t.Fatalf("round %d: two signatures of one digest are equal", i)
		}
		if i%20 == 0 {
			joseVerifies(t, priv, msg)
		}
	}
}

// joseVerifies builds the compact JWS go-jose would check for an ES256
// signature over msg as the payload, and verifies it with go-jose.
func joseVerifies(t *testing.T, priv *ecdsa.PrivateKey, msg []byte) {
	t.Helper()
	s, err := New(priv)
	if err != nil {
		t.Fatal(err)
	}
	const header = "eyJhbGciOiJFUzI1NiJ9" // {"alg":"ES256"}
	input := header + "." + b64(msg)
	digest := sha256.Sum256([]byte(input))
	var sig [64]byte
	if err := s.Sign(&sig, &digest); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(input+"."+b64(sig[:]), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	got, err := jws.Verify(&priv.PublicKey)
	if err != nil {
		t.Fatalf("go-jose refused the signature: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("go-jose returned another payload")
	}
}

// TestConcurrentSign: one Signer is used from many goroutines (run with
// -race).
func TestConcurrentSign(t *testing.T) {
	priv, s := newSigner(t)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				digest := sha256.Sum256([]byte{byte(g), byte(i)})
				var sig [64]byte
				if err := s.Sign(&sig, &digest); err != nil || !verifies(&priv.PublicKey, digest[:], &sig) {
					errs <- "bad signature"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// FuzzSign: for any key scalar and digest, Sign's signature verifies,
// and with the fuzzed bytes as the nonce signWith gives exactly the r and
// s of the math/big reference (or refuses a nonce out of range).
func FuzzSign(f *testing.F) {
	f.Add(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{3}, 32), bytes.Repeat([]byte{2}, 32))
	f.Add(orderBytes, orderBytes, orderBytes)
	f.Add(bytes.Repeat([]byte{0xff}, 32), bytes.Repeat([]byte{0xff}, 32), []byte{1})
	f.Fuzz(func(t *testing.T, d, digestBytes, k []byte) {
		if len(d) != 32 || len(digestBytes) != 32 {
			return
		}
		priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
		if err != nil {
			return // zero or not below n: not a key
		}
		s, err := New(priv)
		if err != nil {
			t.Fatalf("New refused a key crypto/ecdsa accepts: %v", err)
		}
		digest := [32]byte(digestBytes)
		var sig [64]byte
		if err := s.Sign(&sig, &digest); err != nil {
			t.Fatal(err)
		}
		if !verifies(&priv.PublicKey, digest[:], &sig) {
			t.Fatal("signature does not verify")
		}
		if len(k) != 32 {
			return
		}
		beta := sha256.Sum256(k)
		beta[0] &= 0x7f
		kk := [32]byte(k)
		var sig2 [64]byte
		ok := s.signWith(&sig2, &digest, &kk, &beta)
		kn := new(big.Int).SetBytes(k)
		valid := kn.Sign() > 0 && kn.Cmp(orderBig) < 0 && new(big.Int).SetBytes(beta[:]).Sign() > 0
		if ok != valid {
			t.Fatalf("signWith(k=%x) = %v, want %v", k, ok, valid)
		}
		if ok {
			matchesReference(t, &sig2, d, k, digest[:])
		}
	})
}

// refSign is r and s computed with math/big from the definition (FIPS
// 186-5 §6.4.1): r = x(k·G) mod n, s = k⁻¹·(e + r·d) mod n.
func refSign(d, k, e []byte) (r, s *big.Int) {
	R, err := nistec.NewP256Point().ScalarBaseMult(k)
	if err != nil {
		panic(err)
	}
	x, err := R.BytesX()
	if err != nil {
		panic(err)
	}
	r = new(big.Int).Mod(new(big.Int).SetBytes(x), orderBig)
	kInv := new(big.Int).ModInverse(new(big.Int).SetBytes(k), orderBig)
	s = new(big.Int).Mul(r, new(big.Int).SetBytes(d))
	s.Add(s, new(big.Int).SetBytes(e))
	s.Mul(s, kInv).Mod(s, orderBig)
	return r, s
}

// matchesReference fails unless sig is exactly refSign's r‖s: checking
// that it verifies is not enough, since (r, n-s) verifies too.
func matchesReference(t testing.TB, sig *[64]byte, d, k, e []byte) {
	t.Helper()
	r, s := refSign(d, k, e)
	if new(big.Int).SetBytes(sig[:32]).Cmp(r) != 0 || new(big.Int).SetBytes(sig[32:]).Cmp(s) != 0 {
		t.Fatalf("signature %x differs from the reference r=%x s=%x", sig, r, s)
	}
}

// TestAgainstReference: random keys, nonces, blinding factors and
// digests, and the edge digests (0, n-1, n, n+1, 2²⁵⁶-1, which must be
// reduced once), give exactly the reference's r and s.
func TestAgainstReference(t *testing.T) {
	n := [32]byte(orderBytes)
	nm1, np1 := n, n
	nm1[31]--
	np1[31]++
	var ones [32]byte
	for i := range ones {
		ones[i] = 0xff
	}
	edges := [][32]byte{{}, nm1, n, np1, ones}
	rounds := 1000
	if testing.Short() {
		rounds = 100
	}
	for i := range rounds {
		priv, s := newSigner(t)
		var k, beta, digest [32]byte
		rand.Read(k[:])
		rand.Read(beta[:])
		rand.Read(digest[:])
		edge := i < len(edges)
		if edge {
			digest, k, beta = edges[i], [32]byte{0: 0x12, 31: 0x34}, [32]byte{31: 9}
		}
		var sig [64]byte
		if !s.signWith(&sig, &digest, &k, &beta) {
			if edge {
				t.Fatalf("digest %x: refused", digest)
			}
			continue // a random k or β not below n: about 2⁻³¹
		}
		matchesReference(t, &sig, s.d[:], k[:], digest[:])
		if !verifies(&priv.PublicKey, digest[:], &sig) {
			t.Fatalf("digest %x: does not verify", digest)
		}
	}
}

// TestOverflowingX: r = x mod n where x may lie in [n, p); one
// conditional subtraction must reduce it.
func TestOverflowingX(t *testing.T) {
	p, _ := new(big.Int).SetString("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", 16)
	for _, x := range []*big.Int{new(big.Int).Sub(p, big.NewInt(1)), new(big.Int).Set(orderBig), new(big.Int).Add(orderBig, big.NewInt(5))} {
		b := x.FillBytes(make([]byte, 32))
		r, err := bigmod.NewNat().SetOverflowingBytes(b, order)
		if err != nil {
			t.Fatal(err)
		}
		var got [32]byte
		if !put32(&got, r) || new(big.Int).SetBytes(got[:]).Cmp(new(big.Int).Mod(x, orderBig)) != 0 {
			t.Fatalf("%x mod n: got %x", b, got)
		}
	}
}

// TestNonceDerivation pins the nonce to its documented construction and
// its hedging: with the random source fixed, k still differs between
// digests and between keys, so a broken source cannot repeat a nonce.
func TestNonceDerivation(t *testing.T) {
	_, s := newSigner(t)
	_, s2 := newSigner(t)
	d1, d2 := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))

	cryptotest.SetGlobalRandom(t, 7)
	var z [32]byte
	rand.Read(z[:])
	in := append([]byte(nonceLabel), z[:]...)
	in = append(in, s.d[:]...)
	in = append(in, d1[:]...)
	in = append(in, 0)
	h := sha512.Sum512(in)

	sign := func(s *Signer, digest *[32]byte) [64]byte {
		cryptotest.SetGlobalRandom(t, 7) // the same Z every time
		var sig [64]byte
		if err := s.Sign(&sig, digest); err != nil {
			t.Fatal(err)
		}
		return sig
	}
	sig := sign(s, &d1)
	matchesReference(t, &sig, s.d[:], h[:32], d1[:])
	if again := sign(s, &d1); again != sig {
		t.Fatal("same Z, key and digest gave another signature")
	}
	if other := sign(s, &d2); bytes.Equal(other[:32], sig[:32]) {
		t.Fatal("r repeated across digests under a fixed random source")
	}
	if other := sign(s2, &d1); bytes.Equal(other[:32], sig[:32]) {
		t.Fatal("r repeated across keys under a fixed random source")
	}
}

// TestCandidates: each try's k and β are the two halves of SHA-512 over
// the input with that counter; they differ from each other and from try
// to try.
func TestCandidates(t *testing.T) {
	var in nonceInput
	rand.Read(in.random())
	d, digest := [32]byte{1}, [32]byte{2}
	in.set(&d, &digest)
	seen := map[[32]byte]bool{}
	for try := range 4 {
		k, beta := in.candidates(try)
		want := append([]byte(nil), in[:]...)
		want[len(want)-1] = byte(try)
		h := sha512.Sum512(want)
		if k != [32]byte(h[:32]) || beta != [32]byte(h[32:]) {
			t.Fatalf("try %d: candidates are not the halves of SHA-512(input ‖ try)", try)
		}
		if k == beta || seen[k] || seen[beta] {
			t.Fatalf("try %d: a candidate repeats", try)
		}
		seen[k], seen[beta] = true, true
		if !bytes.Equal(in[:zAt], []byte(nonceLabel)) || !bytes.Equal(in[dAt:digestAt], d[:]) || !bytes.Equal(in[digestAt:tryAt], digest[:]) {
			t.Fatal("input layout")
		}
	}
}

// TestMismatchedPublicKey: a key whose public point is not d·G is refused.
func TestMismatchedPublicKey(t *testing.T) {
	a, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	bad := &ecdsa.PrivateKey{PublicKey: b.PublicKey, D: a.D}
	if _, err := New(bad); err == nil {
		t.Fatal("accepted a private scalar with another key's public point")
	}
}

// TestSignFIPS: the FIPS 140-3 mode path (crypto/ecdsa, DER converted to
// R‖S) makes signatures that verify.
func TestSignFIPS(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for i := range 50 {
		digest := sha256.Sum256([]byte{byte(i)})
		var sig [64]byte
		if err := signFIPS(priv, &sig, &digest); err != nil {
			t.Fatal(err)
		}
		if !verifies(&priv.PublicKey, digest[:], &sig) {
			t.Fatal("does not verify")
		}
	}
}

func TestRawSignatureRejectsMalformed(t *testing.T) {
	var sig [64]byte
	for _, der := range [][]byte{nil, {0x30, 0x00}, {0x30, 0x03, 0x02, 0x01, 0x01}, append([]byte{0x30, 0x26, 0x02, 0x21, 0x01}, make([]byte, 32+3)...)} {
		if err := rawSignature(der, &sig); err == nil {
			t.Errorf("rawSignature(%x) accepted", der)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	_, s := newSigner(b)
	digest := sha256.Sum256([]byte("x"))
	var sig [64]byte
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Sign(&sig, &digest); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStdlib is crypto/ecdsa's signature, the one the ceiling in
// docs/performance.md signs with, for comparison.
func BenchmarkStdlib(b *testing.B) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte("x"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ecdsa.SignASN1(rand.Reader, priv, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TestPut32 holds put32 to bigmod's own encoding.
func TestPut32(t *testing.T) {
	n := [32]byte(orderBytes)
	n[31]--
	for _, b := range [][32]byte{{}, {31: 1}, {0: 1}, n} {
		x, err := bigmod.NewNat().SetBytes(b[:], order)
		if err != nil {
			t.Fatal(err)
		}
		var got [32]byte
		if !put32(&got, x) || !bytes.Equal(got[:], x.Bytes(order)) || got != b {
			t.Fatalf("put32(%x) = %x", b, got)
		}
	}
}

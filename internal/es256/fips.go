package es256

import (
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// signFIPS signs with crypto/ecdsa, the validated module, for FIPS 140-3
// mode, and converts its DER signature to R‖S.
func signFIPS(priv *ecdsa.PrivateKey, sig *[64]byte, digest *[32]byte) error {
	der, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
	if err != nil {
		return fmt.Errorf("es256: %w", err)
	}
	var out [64]byte
	if err := rawSignature(der, &out); err != nil {
		return fmt.Errorf("es256: %w", err)
	}
	*sig = out
	return nil
}

// rawSignature converts an ASN.1 ECDSA-Sig-Value (SEQUENCE of two
// INTEGERs) for P-256 to the fixed 64-byte R‖S form.
func rawSignature(der []byte, out *[64]byte) error {
	var seq, r, s cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&r, asn1.INTEGER) || !seq.ReadASN1(&s, asn1.INTEGER) || !seq.Empty() {
		return errors.New("malformed ECDSA signature")
	}
	for j, v := range [2][]byte{r, s} {
		// DER integers are minimal and signed: at most one leading zero,
		// present only to keep a high bit from reading as negative.
		if len(v) > 0 && v[0] == 0 {
			v = v[1:]
		}
		if len(v) == 0 || len(v) > 32 {
			return errors.New("ECDSA signature value out of range")
		}
		copy(out[j*32+32-len(v):(j+1)*32], v)
	}
	return nil
}

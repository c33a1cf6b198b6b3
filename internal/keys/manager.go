package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/sealed"
)

// Algorithm is the JOSE algorithm of every key Latchkey makes.
const Algorithm = jose.ES256

const sealLabel = "latchkey signing key"

// ErrUnknownKey means no published key has the requested kid.
var ErrUnknownKey = errors.New("unknown signing key")

// Key is a usable signing key.
type Key struct {
	KID      string
	Private  *ecdsa.PrivateKey
	SignFrom time.Time
	RetireAt time.Time
	signer   jose.Signer
}

// Signer returns a go-jose signer that stamps kid and typ at+jwt.
func (k *Key) Signer() jose.Signer { return k.signer }

// Manager holds the decrypted signing keys in memory and chooses which one
// signs. It is safe for concurrent use.
type Manager struct {
	repo Repository
	box  *sealed.Box
	now  func() time.Time

	mu   sync.RWMutex
	keys []*Key // oldest first
}

// NewManager returns a Manager; call Load before use.
func NewManager(repo Repository, box *sealed.Box, now func() time.Time) *Manager {
	if now == nil {
		now = time.Now
	}
	return &Manager{repo: repo, box: box, now: now}
}

// Load reads every key from the store, creating the first one if the store
// has none.
func (m *Manager) Load(ctx context.Context) error {
	recs, err := m.repo.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	if len(recs) == 0 {
		if _, err := m.Create(ctx, 0); err != nil {
			return err
		}
		if recs, err = m.repo.ListSigningKeys(ctx); err != nil {
			return fmt.Errorf("load signing keys: %w", err)
		}
	}
	ks := make([]*Key, 0, len(recs))
	for _, r := range recs {
		k, err := m.open(r)
		if err != nil {
			return err
		}
		ks = append(ks, k)
	}
	m.mu.Lock()
	m.keys = ks
	m.mu.Unlock()
	return nil
}

// Create generates a new ES256 key, seals it and stores it. It signs only
// after delay, so that every node has published it by then.
func (m *Manager) Create(ctx context.Context, delay time.Duration) (Record, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Record{}, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return Record{}, fmt.Errorf("encode signing key: %w", err)
	}
	now := m.now().UTC().Truncate(time.Microsecond)
	kid := now.Format("20060102T150405Z") + "-" + randomSuffix()
	pub, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey, KeyID: kid, Algorithm: string(Algorithm), Use: "sig"})
	if err != nil {
		return Record{}, fmt.Errorf("encode public key: %w", err)
	}
	r := Record{
		KID:       kid,
		Algorithm: string(Algorithm),
		Private:   m.box.Seal(der, sealLabel+" "+kid),
		Public:    pub,
		CreatedAt: now,
		SignFrom:  now.Add(delay),
	}
	if err := m.repo.CreateSigningKey(ctx, r); err != nil {
		return Record{}, fmt.Errorf("store signing key: %w", err)
	}
	return r, nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func (m *Manager) open(r Record) (*Key, error) {
	der, err := m.box.Open(r.Private, sealLabel+" "+r.KID)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: not an ECDSA key", r.KID)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: Algorithm, Key: jose.JSONWebKey{Key: priv, KeyID: r.KID}},
		(&jose.SignerOptions{}).WithType("at+jwt"),
	)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
	}
	return &Key{KID: r.KID, Private: priv, SignFrom: r.SignFrom, RetireAt: r.RetireAt, signer: signer}, nil
}

func (k *Key) published(now time.Time) bool { return k.RetireAt.IsZero() || now.Before(k.RetireAt) }

// Current returns the key to sign with now: the newest published key whose
// SignFrom has passed.
func (m *Manager) Current() (*Key, error) {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	for i := len(m.keys) - 1; i >= 0; i-- {
		k := m.keys[i]
		if k.published(now) && !now.Before(k.SignFrom) {
			return k, nil
		}
	}
	return nil, errors.New("no signing key is usable now")
}

// Public returns the public key with kid, if it is still published.
func (m *Manager) Public(kid string) (*ecdsa.PublicKey, error) {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, k := range m.keys {
		if k.KID == kid && k.published(now) {
			return &k.Private.PublicKey, nil
		}
	}
	return nil, fmt.Errorf("kid %q: %w", kid, ErrUnknownKey)
}

// JWKS returns the published public keys as a JSON Web Key Set.
func (m *Manager) JWKS() jose.JSONWebKeySet {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range m.keys {
		if k.published(now) {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.Private.PublicKey, KeyID: k.KID, Algorithm: string(Algorithm), Use: "sig"})
		}
	}
	return set
}

package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/domain"
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
	RetireAt time.Time // explicit retirement; zero: none
	signer   jose.Signer
	idSigner jose.Signer
	// accessHeader and idHeader are the JWS protected headers the two
	// signers stamp, base64url-encoded once here, for hand-written minting
	// (token's fast path) that signs without go-jose.
	accessHeader, idHeader string
	// supersededAt is when the next key starts signing; zero while this
	// is the newest key.
	supersededAt time.Time
}

// Signer returns a go-jose signer that stamps kid and typ at+jwt, for
// access tokens (RFC 9068 §2.1).
func (k *Key) Signer() jose.Signer { return k.signer }

// IDSigner returns a go-jose signer that stamps kid and typ JWT, for ID
// tokens, which must not pass for access tokens (RFC 8725 §3.11).
func (k *Key) IDSigner() jose.Signer { return k.idSigner }

// AccessHeader returns the base64url-encoded JWS protected header of an
// access token signed with k: {"alg":"ES256","kid":k.KID,"typ":"at+jwt"}.
func (k *Key) AccessHeader() string { return k.accessHeader }

// IDHeader returns the base64url-encoded JWS protected header of an ID
// token signed with k: {"alg":"ES256","kid":k.KID,"typ":"JWT"}.
func (k *Key) IDHeader() string { return k.idHeader }

// encodeHeader is the base64url protected header for kid and typ, in
// go-jose's member order.
func encodeHeader(kid, typ string) (string, error) {
	h, err := json.Marshal(struct {
		Alg string `json:"alg"`
		KID string `json:"kid"`
		Typ string `json:"typ"`
	}{string(Algorithm), kid, typ})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(h), nil
}

// Manager holds the decrypted signing keys in memory and chooses which one
// signs. It is safe for concurrent use.
type Manager struct {
	repo Repository
	box  *sealed.Box
	now  func() time.Time
	// retireAfter is how long a superseded key stays published: the
	// longest lifetime of a token it may have signed, plus clock leeway.
	retireAfter time.Duration

	mu            sync.RWMutex
	keys          []*Key // oldest first
	lastUnknownAt time.Time
}

// DefaultRetireAfter suits the default one-hour access tokens.
const DefaultRetireAfter = time.Hour + 5*time.Minute

// NewManager returns a Manager; call Load before use. retireAfter ≤ 0
// means DefaultRetireAfter.
func NewManager(repo Repository, box *sealed.Box, now func() time.Time, retireAfter time.Duration) *Manager {
	if now == nil {
		now = time.Now
	}
	if retireAfter <= 0 {
		retireAfter = DefaultRetireAfter
	}
	return &Manager{repo: repo, box: box, now: now, retireAfter: retireAfter}
}

// Load reads every key from the store, creating the first one if the store
// has none.
func (m *Manager) Load(ctx context.Context) error {
	recs, err := m.repo.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	if len(recs) == 0 {
		// Nodes starting together on an empty store all try the same kid;
		// one insert wins and the others load it, so the fleet never signs
		// with a key some node does not publish.
		if _, err := m.create(ctx, 0, InitialKID, nil); err != nil && !errors.Is(err, ErrDuplicateKey) {
			return err
		}
		if recs, err = m.repo.ListSigningKeys(ctx); err != nil {
			return fmt.Errorf("load signing keys: %w", err)
		}
	}
	m.mu.RLock()
	known := make(map[string]*Key, len(m.keys))
	for _, k := range m.keys {
		known[k.KID] = k
	}
	m.mu.RUnlock()
	ks := make([]*Key, 0, len(recs))
	for _, r := range recs {
		if k, ok := known[r.KID]; ok && k.RetireAt.Equal(r.RetireAt) {
			// Already decrypted; copy it, because readers may hold the old
			// *Key while supersededAt is set below.
			c := *k
			ks = append(ks, &c)
			continue
		}
		k, err := m.open(r)
		if err != nil {
			return err
		}
		ks = append(ks, k)
	}
	// Successors decide when a key retires (see published).
	for i := 0; i+1 < len(ks); i++ {
		ks[i].supersededAt = ks[i+1].SignFrom
	}
	m.mu.Lock()
	m.keys = ks
	m.mu.Unlock()
	return nil
}

// Rotate stores a new key that every node publishes at once but none signs
// with until publishDelay has passed; that delay must exceed the nodes'
// refresh interval and the JWKS cache lifetime, so that no verifier sees a
// token signed by a key it has not yet fetched. The previous key keeps
// signing until then and stays published for retireAfter beyond that.
func (m *Manager) Rotate(ctx context.Context, publishDelay time.Duration, by domain.Actor) (Record, error) {
	r, err := m.create(ctx, publishDelay, "", &by)
	if err != nil {
		return Record{}, err
	}
	return r, m.Load(ctx)
}

// Run reloads the keys every interval until ctx ends, so rotations made by
// any node reach this one.
func (m *Manager) Run(ctx context.Context, interval time.Duration, onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Load(ctx); err != nil && onError != nil {
				onError(err)
			}
		}
	}
}

// reloadForUnknown reloads for a kid this node has not seen, in case
// another node rotated since the last refresh; at most once a second, so
// tokens with made-up kids cannot hammer the store.
func (m *Manager) reloadForUnknown(ctx context.Context) bool {
	now := m.now()
	m.mu.Lock()
	if now.Sub(m.lastUnknownAt) < time.Second {
		m.mu.Unlock()
		return false
	}
	m.lastUnknownAt = now
	m.mu.Unlock()
	return m.Load(ctx) == nil
}

// InitialKID names the first key of a store.
const InitialKID = "initial"

// ErrDuplicateKey is what a Repository returns (wrapped) when a kid is
// already taken.
var ErrDuplicateKey = errors.New("signing key id already exists")

// Create generates a new ES256 key, seals it and stores it. It signs only
// after delay, so that every node has published it by then.
func (m *Manager) Create(ctx context.Context, delay time.Duration) (Record, error) {
	return m.create(ctx, delay, "", nil)
}

// create makes and stores a key; by, when set, is recorded in the audit
// trail with it.
func (m *Manager) create(ctx context.Context, delay time.Duration, kid string, by *domain.Actor) (Record, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Record{}, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return Record{}, fmt.Errorf("encode signing key: %w", err)
	}
	now := m.now().UTC().Truncate(time.Microsecond)
	if kid == "" {
		kid = now.Format("20060102T150405Z") + "-" + randomSuffix()
	}
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
	var ev audit.Event
	if by != nil {
		if ev, err = audit.New(now, by.Subject, by.ClientID, audit.KeyRotate, "key", kid,
			map[string]any{"kid": kid, "sign_from": r.SignFrom}); err != nil {
			return Record{}, err
		}
	}
	if err := m.repo.CreateSigningKey(ctx, r, ev); err != nil {
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
	k := &Key{KID: r.KID, Private: priv, SignFrom: r.SignFrom, RetireAt: r.RetireAt}
	for typ, dst := range map[jose.ContentType]*jose.Signer{"at+jwt": &k.signer, "JWT": &k.idSigner} {
		*dst, err = jose.NewSigner(
			jose.SigningKey{Algorithm: Algorithm, Key: jose.JSONWebKey{Key: priv, KeyID: r.KID}},
			(&jose.SignerOptions{}).WithType(typ),
		)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
		}
	}
	if k.accessHeader, err = encodeHeader(r.KID, "at+jwt"); err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
	}
	if k.idHeader, err = encodeHeader(r.KID, "JWT"); err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
	}
	return k, nil
}

// published reports whether k is in the JWKS at now: until its explicit
// RetireAt, and until every token it signed before its successor took over
// has expired.
func (m *Manager) published(k *Key, now time.Time) bool {
	if !k.RetireAt.IsZero() && !now.Before(k.RetireAt) {
		return false
	}
	return k.supersededAt.IsZero() || now.Before(k.supersededAt.Add(m.retireAfter))
}

// Current returns the key to sign with now: the newest published key whose
// SignFrom has passed.
func (m *Manager) Current() (*Key, error) {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	for i := len(m.keys) - 1; i >= 0; i-- {
		k := m.keys[i]
		if m.published(k, now) && !now.Before(k.SignFrom) {
			return k, nil
		}
	}
	return nil, errors.New("no signing key is usable now")
}

// Public returns the public key with kid, if it is still published. An
// unknown kid triggers one reload, in case another node just rotated.
func (m *Manager) Public(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	if k := m.lookup(kid); k != nil {
		return k, nil
	}
	if m.reloadForUnknown(ctx) {
		if k := m.lookup(kid); k != nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("kid %q: %w", kid, ErrUnknownKey)
}

func (m *Manager) lookup(kid string) *ecdsa.PublicKey {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, k := range m.keys {
		if k.KID == kid && m.published(k, now) {
			return &k.Private.PublicKey
		}
	}
	return nil
}

// Status describes one key for operators.
type Status struct {
	KID       string
	SignFrom  time.Time
	Signing   bool
	Published bool
	RetiresAt time.Time // zero: not scheduled
}

// Statuses lists every loaded key, oldest first.
func (m *Manager) Statuses() []Status {
	now := m.now()
	cur, _ := m.Current()
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Status, 0, len(m.keys))
	for _, k := range m.keys {
		st := Status{KID: k.KID, SignFrom: k.SignFrom, Published: m.published(k, now), Signing: cur != nil && cur.KID == k.KID}
		if !k.supersededAt.IsZero() {
			st.RetiresAt = k.supersededAt.Add(m.retireAfter)
		}
		if !k.RetireAt.IsZero() && (st.RetiresAt.IsZero() || k.RetireAt.Before(st.RetiresAt)) {
			st.RetiresAt = k.RetireAt
		}
		out = append(out, st)
	}
	return out
}

// JWKS returns the published public keys as a JSON Web Key Set.
func (m *Manager) JWKS() jose.JSONWebKeySet {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range m.keys {
		if m.published(k, now) {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.Private.PublicKey, KeyID: k.KID, Algorithm: string(Algorithm), Use: "sig"})
		}
	}
	return set
}

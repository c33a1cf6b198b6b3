package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/es256"
	"github.com/latchkey/latchkey/internal/sealed"
)

// The algorithms Latchkey signs with. The manager keeps one current key
// for each, rotated together.
const (
	// ES256 (P-256) signs access tokens, and ID tokens a client asks to
	// have in ES256.
	ES256 = jose.ES256
	// RS256 (RSA, 2048 bits) signs ID tokens by default: OpenID Connect
	// Core §3.1.3.7 and §15.1 require every OP to support it.
	RS256 = jose.RS256
)

// Algorithm is the JOSE algorithm of access tokens.
const Algorithm = ES256

// rsaBits is the size of the RSA keys Latchkey generates.
const rsaBits = 2048

// algorithms lists every algorithm the manager keeps a key for, the ID
// token default first.
var algorithms = []jose.SignatureAlgorithm{RS256, ES256}

const sealLabel = "latchkey signing key"

// ErrUnknownKey means no published key has the requested kid.
var ErrUnknownKey = errors.New("unknown signing key")

// Key is a usable signing key.
type Key struct {
	KID string
	Alg jose.SignatureAlgorithm
	// Private is the key of an ES256 key, RSA that of an RS256 key; the
	// other is nil.
	Private *ecdsa.PrivateKey
	RSA     *rsa.PrivateKey
	// es256 signs with Private on the minting fast path (see
	// internal/es256); nil for an RSA key.
	es256    *es256.Signer
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

// PublicKey returns the public half of k.
func (k *Key) PublicKey() crypto.PublicKey {
	if k.RSA != nil {
		return &k.RSA.PublicKey
	}
	return &k.Private.PublicKey
}

// ES256 returns the fast-path signer of an ES256 key, nil for any other.
func (k *Key) ES256() *es256.Signer { return k.es256 }

// AccessHeader returns the base64url-encoded JWS protected header of an
// access token signed with k: {"alg":k.Alg,"kid":k.KID,"typ":"at+jwt"}.
func (k *Key) AccessHeader() string { return k.accessHeader }

// IDHeader returns the base64url-encoded JWS protected header of an ID
// token signed with k: {"alg":k.Alg,"kid":k.KID,"typ":"JWT"}.
func (k *Key) IDHeader() string { return k.idHeader }

// encodeHeader is the base64url protected header for alg, kid and typ,
// in go-jose's member order.
func encodeHeader(alg jose.SignatureAlgorithm, kid, typ string) (string, error) {
	h, err := json.Marshal(struct {
		Alg string `json:"alg"`
		KID string `json:"kid"`
		Typ string `json:"typ"`
	}{string(alg), kid, typ})
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

	// generateRSA makes a new RSA key (rsa.GenerateKey unless a test
	// injects a cheaper one).
	generateRSA func() (*rsa.PrivateKey, error)

	mu            sync.RWMutex
	keys          []*Key // oldest first
	lastUnknownAt time.Time
}

// Option configures a Manager.
type Option func(*Manager)

// WithRSAGenerator replaces RSA key generation, which takes tens of
// milliseconds or more; for tests (see keystest).
func WithRSAGenerator(gen func() (*rsa.PrivateKey, error)) Option {
	return func(m *Manager) { m.generateRSA = gen }
}

func generateRSA() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, rsaBits) }

// DefaultRetireAfter suits the default one-hour access tokens.
const DefaultRetireAfter = time.Hour + 5*time.Minute

// NewManager returns a Manager; call Load before use. retireAfter ≤ 0
// means DefaultRetireAfter.
func NewManager(repo Repository, box *sealed.Box, now func() time.Time, retireAfter time.Duration, opts ...Option) *Manager {
	if now == nil {
		now = time.Now
	}
	if retireAfter <= 0 {
		retireAfter = DefaultRetireAfter
	}
	m := &Manager{repo: repo, box: box, now: now, retireAfter: retireAfter, generateRSA: generateRSA}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Algorithms returns the algorithms the manager keeps a signing key for,
// the ID token default (RS256) first.
func (m *Manager) Algorithms() []jose.SignatureAlgorithm { return slices.Clone(algorithms) }

// recordAlg is r's algorithm; keys stored before RS256 existed are ES256.
func recordAlg(r Record) jose.SignatureAlgorithm {
	if r.Algorithm == "" {
		return ES256
	}
	return jose.SignatureAlgorithm(r.Algorithm)
}

// missingAlgs lists the algorithms recs has no key for.
func missingAlgs(recs []Record) []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for _, alg := range algorithms {
		if !slices.ContainsFunc(recs, func(r Record) bool { return recordAlg(r) == alg }) {
			out = append(out, alg)
		}
	}
	return out
}

// initialKID names the first key of alg in a store: InitialKID for ES256,
// as before RS256 existed, InitialKID-rs256 for RS256.
func initialKID(alg jose.SignatureAlgorithm) string {
	if alg == ES256 {
		return InitialKID
	}
	return InitialKID + "-" + strings.ToLower(string(alg))
}

// Load reads every key from the store, first creating the first key of
// each algorithm the store has none for. Only the first start (and the
// first after an upgrade that adds an algorithm) generates keys, those
// of different algorithms concurrently; every later start only loads.
func (m *Manager) Load(ctx context.Context) error {
	recs, err := m.repo.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	if missing := missingAlgs(recs); len(missing) > 0 {
		// Nodes starting together on an empty store all try the same kid;
		// one insert wins and the others load it, so the fleet never signs
		// with a key some node does not publish.
		errs := make([]error, len(missing))
		var wg sync.WaitGroup
		for j, alg := range missing {
			wg.Go(func() {
				if _, err := m.create(ctx, 0, initialKID(alg), alg, nil); err != nil && !errors.Is(err, ErrDuplicateKey) {
					errs[j] = err
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
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
	// Successors of the same algorithm decide when a key retires (see
	// published).
	last := map[jose.SignatureAlgorithm]*Key{}
	for _, k := range ks {
		if prev := last[k.Alg]; prev != nil {
			prev.supersededAt = k.SignFrom
		}
		last[k.Alg] = k
	}
	m.mu.Lock()
	m.keys = ks
	m.mu.Unlock()
	return nil
}

// Rotate stores a new key of each algorithm that every node publishes at
// once but none signs with until publishDelay has passed; that delay must exceed the nodes'
// refresh interval and the JWKS cache lifetime, so that no verifier sees a
// token signed by a key it has not yet fetched. The previous key of each
// algorithm keeps signing until then and stays published for retireAfter
// beyond that. It returns the new keys, in Algorithms order.
func (m *Manager) Rotate(ctx context.Context, publishDelay time.Duration, by domain.Actor) ([]Record, error) {
	var out []Record
	for _, alg := range algorithms {
		r, err := m.create(ctx, publishDelay, "", alg, &by)
		if err != nil {
			return out, errors.Join(err, m.Load(ctx))
		}
		out = append(out, r)
	}
	return out, m.Load(ctx)
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

// Create generates a new key of alg, seals it and stores it. It signs
// only after delay, so that every node has published it by then.
func (m *Manager) Create(ctx context.Context, delay time.Duration, alg jose.SignatureAlgorithm) (Record, error) {
	return m.create(ctx, delay, "", alg, nil)
}

// generate makes a private key for alg.
func (m *Manager) generate(alg jose.SignatureAlgorithm) (priv crypto.Signer, err error) {
	switch alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		priv, err = m.generateRSA()
	default:
		return nil, fmt.Errorf("generate signing key: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s signing key: %w", alg, err)
	}
	return priv, nil
}

// create makes and stores a key of alg; by, when set, is recorded in the
// audit trail with it.
func (m *Manager) create(ctx context.Context, delay time.Duration, kid string, alg jose.SignatureAlgorithm, by *domain.Actor) (Record, error) {
	priv, err := m.generate(alg)
	if err != nil {
		return Record{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return Record{}, fmt.Errorf("encode signing key: %w", err)
	}
	now := m.now().UTC().Truncate(time.Microsecond)
	if kid == "" {
		kid = now.Format("20060102T150405Z") + "-" + randomSuffix()
	}
	pub, err := json.Marshal(jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Algorithm: string(alg), Use: "sig"})
	if err != nil {
		return Record{}, fmt.Errorf("encode public key: %w", err)
	}
	r := Record{
		KID:       kid,
		Algorithm: string(alg),
		Private:   m.box.Seal(der, sealLabel+" "+kid),
		Public:    pub,
		CreatedAt: now,
		SignFrom:  now.Add(delay),
	}
	var ev audit.Event
	if by != nil {
		if ev, err = audit.New(now, by.Subject, by.ClientID, audit.KeyRotate, "key", kid,
			map[string]any{"kid": kid, "alg": string(alg), "sign_from": r.SignFrom}); err != nil {
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
	alg := recordAlg(r)
	k := &Key{KID: r.KID, Alg: alg, SignFrom: r.SignFrom, RetireAt: r.RetireAt}
	switch priv := parsed.(type) {
	case *ecdsa.PrivateKey:
		if alg != ES256 || priv.Curve != elliptic.P256() {
			return nil, fmt.Errorf("signing key %s: a %s key is not a P-256 ECDSA key", r.KID, alg)
		}
		k.Private = priv
		if k.es256, err = es256.New(priv); err != nil {
			return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
		}
	case *rsa.PrivateKey:
		if alg != RS256 || priv.N.BitLen() < rsaBits {
			return nil, fmt.Errorf("signing key %s: a %s key is not an RSA key of %d bits or more", r.KID, alg, rsaBits)
		}
		k.RSA = priv
	default:
		return nil, fmt.Errorf("signing key %s: unsupported key type %T", r.KID, parsed)
	}
	for typ, dst := range map[jose.ContentType]*jose.Signer{"at+jwt": &k.signer, "JWT": &k.idSigner} {
		*dst, err = jose.NewSigner(
			jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: parsed, KeyID: r.KID}},
			(&jose.SignerOptions{}).WithType(typ),
		)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
		}
	}
	if k.accessHeader, err = encodeHeader(alg, r.KID, "at+jwt"); err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
	}
	if k.idHeader, err = encodeHeader(alg, r.KID, "JWT"); err != nil {
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

// Current returns the ES256 key to sign access tokens with now.
func (m *Manager) Current() (*Key, error) { return m.CurrentFor(ES256) }

// CurrentFor returns the key of alg to sign with now: the newest
// published key of alg whose SignFrom has passed.
func (m *Manager) CurrentFor(alg jose.SignatureAlgorithm) (*Key, error) {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.current(alg, now)
}

func (m *Manager) current(alg jose.SignatureAlgorithm, now time.Time) (*Key, error) {
	for i := len(m.keys) - 1; i >= 0; i-- {
		k := m.keys[i]
		if k.Alg == alg && m.published(k, now) && !now.Before(k.SignFrom) {
			return k, nil
		}
	}
	return nil, fmt.Errorf("no %s signing key is usable now", alg)
}

// Public returns the ES256 public key with kid, if it is still published:
// what verifies access tokens, which only ES256 keys sign. An unknown kid
// triggers one reload, in case another node just rotated.
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
		if k.KID == kid && k.Alg == ES256 && m.published(k, now) {
			return &k.Private.PublicKey
		}
	}
	return nil
}

// Status describes one key for operators.
type Status struct {
	KID       string
	Alg       string
	SignFrom  time.Time
	Signing   bool
	Published bool
	RetiresAt time.Time // zero: not scheduled
}

// Statuses lists every loaded key, oldest first.
func (m *Manager) Statuses() []Status {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	signing := map[string]bool{}
	for _, alg := range algorithms {
		if cur, err := m.current(alg, now); err == nil {
			signing[cur.KID] = true
		}
	}
	out := make([]Status, 0, len(m.keys))
	for _, k := range m.keys {
		st := Status{KID: k.KID, Alg: string(k.Alg), SignFrom: k.SignFrom, Published: m.published(k, now), Signing: signing[k.KID]}
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
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.PublicKey(), KeyID: k.KID, Algorithm: string(k.Alg), Use: "sig"})
		}
	}
	return set
}

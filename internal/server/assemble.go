package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/api/bearer"
	"github.com/latchkey/latchkey/internal/api/cors"
	"github.com/latchkey/latchkey/internal/api/flat"
	"github.com/latchkey/latchkey/internal/api/idempotent"
	"github.com/latchkey/latchkey/internal/api/m2m"
	"github.com/latchkey/latchkey/internal/api/oauth"
	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/api/sourceaddr"
	"github.com/latchkey/latchkey/internal/api/userinfo"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/bootstrap"
	"github.com/latchkey/latchkey/internal/cimd"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/fetch"
	"github.com/latchkey/latchkey/internal/idempotency"
	"github.com/latchkey/latchkey/internal/jwks"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/oauth2/clientauth"
	"github.com/latchkey/latchkey/internal/oauth2/grant/authcode"
	"github.com/latchkey/latchkey/internal/oauth2/grant/clientcredentials"
	"github.com/latchkey/latchkey/internal/oauth2/grant/password"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/oauth2/par"
	"github.com/latchkey/latchkey/internal/oauth2/provider"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/sealed"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/internal/user"
	"github.com/latchkey/latchkey/internal/web"
)

// Options are what Assemble needs to build a server.
type Options struct {
	Store          store.Store
	Box            *sealed.Box // seals signing keys and the secret-hash key
	Issuer         string
	AccessTokenTTL time.Duration
	DefaultScopes  []string
	Now            func() time.Time // nil: time.Now
	Log            *slog.Logger
	// KeyPublishDelay is how long a rotated key is published before it
	// signs; it must exceed KeyRefresh and the JWKS cache lifetime.
	KeyPublishDelay time.Duration
	// KeyOptions configure the signing key manager (tests inject a cheap
	// RSA key generator, keystest.Option).
	KeyOptions []keys.Option
	// JWKSMaxAge is how long verifiers may cache the JWKS (0: default).
	JWKSMaxAge time.Duration
	// ClientCacheTTL bounds how long a change made on another node may
	// take to reach this one's client lookups; 0 disables the cache.
	ClientCacheTTL time.Duration
	// Registration says who may use RFC 7591 dynamic client registration:
	// open, token (the default, "") or off.
	Registration register.Mode
	// TokenLeeway is how far past exp (or before iat) the server still
	// accepts the tokens it verifies itself (admin API, introspection,
	// revocation), for clock differences between nodes; 0 tolerates none.
	TokenLeeway time.Duration
	// TrustedProxies are the peers whose Forwarded / X-Forwarded-For
	// headers give the client address (for the failed-auth throttle).
	TrustedProxies []netip.Prefix
	// Scopes are the scopes the operator defines (--scopes), beside the
	// built-in OpenID Connect and admin scopes; clients may hold no
	// others, and every default scope must be one of them.
	Scopes []string
	// AllowUndefinedScopes lets clients hold scopes nobody defined, for
	// migrations (--allow-undefined-scopes); Assemble logs a warning.
	AllowUndefinedScopes bool
	// IdempotencyReplayWindow is how long the first answer to a request
	// with an Idempotency-Key (it holds a one-time secret) is kept, sealed,
	// to replay; 0 means idempotency.DefaultReplayWindow.
	IdempotencyReplayWindow time.Duration
	// AccessLogSample > 1 logs one in that many successful token-endpoint
	// requests (--access-log-sample); failures and every other request
	// are always logged, and metrics count every request. 0 or 1 logs all.
	AccessLogSample int
	// RequirePushedRequests makes the authorization endpoint take
	// requests only by RFC 9126 request_uri (--require-pushed-requests).
	RequirePushedRequests bool
	// PushedRequestLimits caps live pushed requests per client and per
	// source address of clients authenticating with none (zero fields:
	// par.DefaultMaxPerClient, par.DefaultMaxPerSource).
	PushedRequestLimits par.Limits
	// MetadataDocuments turns on Client ID Metadata Documents (https
	// client_ids, internal/cimd) with this configuration; nil: off.
	// Such clients may hold the default scopes and the scopes registered
	// resources define.
	MetadataDocuments *cimd.Config
	// AnonymousClients bound open registration and say when its unused
	// clients expire (see agents.go).
	AnonymousClients AnonymousClients
	// Refresh is the refresh token policy (lifetimes, overlap); zero
	// values mean the defaults. AccessTTL is filled from AccessTokenTTL.
	Refresh refresh.Policy
	// ClientKeys is how the jwks_uri key sets of private_key_jwt clients
	// are fetched (internal/fetch; AllowLoopback with
	// --cimd-allow-loopback, which also lets such clients register a
	// loopback jwks_uri).
	ClientKeys fetch.Config
}

// Key timing defaults.
const (
	DefaultKeyRefresh      = 30 * time.Second
	DefaultKeyPublishDelay = 2 * time.Minute
	DefaultClientCacheTTL  = 2 * time.Second
	clockLeeway            = 5 * time.Minute
)

// App is an assembled server: its handler and the services behind it.
type App struct {
	Handler http.Handler
	// Metrics serves Prometheus metrics about Handler; it is not one of
	// Handler's routes (serve it on a separate, private listener).
	Metrics http.Handler
	Clients *client.Service
	Users   *user.Service
	Keys    *keys.Manager
	// Resources are the registered RFC 8707 resources.
	Resources *resource.Service
	Issuer    *token.Issuer
	// Provider is the protocol core behind the token, introspection,
	// revocation and discovery endpoints.
	Provider *provider.Provider
	// ExpireAnonymousClients deletes the open-registration clients unused
	// for Options.AnonymousClients.TTL; a sweeper runs it periodically.
	ExpireAnonymousClients func(ctx context.Context) (int, error)
	// Refresh issues, rotates and revokes refresh tokens (grants).
	Refresh *refresh.Service
}

// Assemble builds every service on o.Store and the HTTP handler over them.
func Assemble(ctx context.Context, o Options) (*App, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	scopes := client.NewScopes(o.Scopes)
	policy := client.Policy{DefaultScopes: o.DefaultScopes, Scopes: scopes, AllowUndefinedScopes: o.AllowUndefinedScopes}
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	if o.AllowUndefinedScopes && o.Log != nil {
		o.Log.Warn("undefined scopes are allowed (--allow-undefined-scopes): clients may be given scopes this server does not define; use it only while migrating, then define them with --scopes")
	}
	hasher, err := bootstrap.SecretHasher(ctx, o.Store, o.Box)
	if err != nil {
		return nil, err
	}
	users := user.NewService(o.Store, o.Now)
	// RFC 8707 resources; their scopes join the catalog clients draw from.
	resources := resource.NewService(o.Store, o.Now)
	resources.Reserve(o.Issuer)
	resources.CacheScopes(o.ClientCacheTTL)
	policy.Scopes = resource.ScopeCatalog{Base: scopes, Repo: o.Store}
	policy.AllowLoopbackJWKSURI = o.ClientKeys.AllowLoopback
	// Open registration may hand out resource scopes (read at each
	// registration); the consent page, which names the resource, guards them.
	policy.ResourceScopes = o.Store
	clients := client.NewService(o.Store, users, hasher, policy, o.Now)
	clients.EnableCache(o.ClientCacheTTL)
	clients.EnableOriginIndex(o.Store)
	// Client lookups for the protocol: registered clients, and https
	// client_ids resolved as metadata documents when enabled.
	// The use of anonymous clients is noted only where it proves the
	// client (a token issued, a code issued; see usage.go), not at every
	// lookup: anyone may send a client_id.
	lookup := cimd.Clients{Service: clients}
	usage := client.NewUsage(o.Store, o.Now)
	if o.MetadataDocuments != nil {
		cfg := *o.MetadataDocuments
		cfg.Scopes, cfg.Now = o.DefaultScopes, o.Now
		// and the scopes registered resources define, read as they change.
		cfg.ResourceScopes = resources
		lookup.Resolver = cimd.New(cfg)
	}
	logAudit := func(ev audit.Event) {
		o.Log.Info("audit", "event_id", ev.ID, "action", ev.Action, "target_type", ev.TargetType, "target_id", ev.TargetID,
			"actor", ev.ActorSubject, "actor_client_id", ev.ActorClientID, "details", ev.Details)
	}
	clients.Observe(logAudit)
	users.Observe(logAudit)
	resources.Observe(logAudit)
	if o.KeyPublishDelay <= 0 {
		o.KeyPublishDelay = DefaultKeyPublishDelay
	}
	km := keys.NewManager(o.Store, o.Box, o.Now, o.AccessTokenTTL+clockLeeway, o.KeyOptions...)
	if err := km.Load(ctx); err != nil {
		return nil, err
	}
	issuer := token.NewIssuer(token.IssuerConfig{Keys: km, Issuer: o.Issuer, TTL: o.AccessTokenTTL, Revocations: o.Store, Clients: lookup, Now: o.Now, Leeway: o.TokenLeeway})
	refreshHasher, err := bootstrap.RefreshHasher(ctx, o.Store, o.Box)
	if err != nil {
		return nil, err
	}
	o.Refresh.AccessTTL = issuer.TTL()
	refreshes, err := refresh.NewService(o.Store, refreshHasher, o.Refresh, o.Now)
	if err != nil {
		return nil, err
	}
	// One failed sign-in throttle for the login page and the password
	// grant, so a guess costs the same budget through either.
	logins := user.NewLoginThrottle(users, o.Now)
	refreshGrant := refresh.Handler{Refresh: refreshes, Tokens: issuer, Users: users, Resources: resources}
	grants, err := oauth2.NewGrants(
		clientcredentials.Handler{Tokens: issuer, Resources: resources},
		authcode.Handler{Codes: o.Store, Tokens: issuer, Users: users, Refresh: refreshes, Now: o.Now, Resources: resources},
		refreshGrant,
		// Legacy (RFC 9700 §2.4): only clients that list it; the login
		// page's throttle, shared.
		password.Handler{Logins: logins, Tokens: issuer, Refresh: refreshes, Now: o.Now, Resources: resources},
	)
	if err != nil {
		return nil, err
	}
	// private_key_jwt: keys inline or fetched from jwks_uri (cached),
	// spent assertion ids in the store; aud may name the issuer or any
	// endpoint that authenticates clients.
	authn := clientauth.Default(lookup, clientauth.PrivateKeyJWT{
		Keys:  jwks.New(jwks.Config{Fetch: fetch.New(o.ClientKeys), Now: o.Now}),
		Spent: o.Store, Now: o.Now,
		Audiences: []string{o.Issuer, o.Issuer + "/oauth2/token", o.Issuer + "/openid/token", o.Issuer + "/oauth2/par",
			o.Issuer + "/oauth2/introspect", o.Issuer + "/oauth2/revoke"},
	})
	prov := provider.New(authn, grants, issuer)
	prov.ListScopes(scopes)
	prov.AcceptAudiences(resources.Registered)
	prov.RevokeRefreshWith(refreshes)
	prov.IntrospectRefreshWith(refreshGrant)
	prov.NoteUseWith(usage)
	auth := bearer.New(issuer, "latchkey", o.Log)
	reg, err := register.New(register.Deps{Clients: clients, Auth: auth, Mode: o.Registration, Issuer: o.Issuer, Realm: "latchkey", Log: o.Log,
		Limits: o.AnonymousClients.limits(o.Store, o.TrustedProxies, o.Now)})
	if err != nil {
		return nil, err
	}
	if o.IdempotencyReplayWindow <= 0 {
		o.IdempotencyReplayWindow = idempotency.DefaultReplayWindow
	}
	idem := idempotent.New(idempotency.NewService(o.Store, o.Box, o.Now, o.IdempotencyReplayWindow), auth, sourceaddr.New(o.TrustedProxies), o.Log)
	// RFC 9126: the PAR endpoint validates with the authorization
	// endpoint's own checks, which resolves request_uri with it.
	pushed := &par.Service{Auth: authn, Repo: o.Store, Now: o.Now,
		MaxPerClient: o.PushedRequestLimits.PerClient, MaxPerSource: o.PushedRequestLimits.PerSource}
	authorize := web.NewAuthorize(web.AuthorizeDeps{
		Clients: lookup, Users: users, Sessions: o.Store, Codes: usageCodes{Repository: o.Store, clients: clients, usage: usage}, Consents: o.Store, Hints: issuer,
		Issuer: o.Issuer, Now: o.Now, Log: o.Log, Sources: sourceaddr.New(o.TrustedProxies), Resources: resources, Logins: logins,
		Pushed: pushed, RequirePushed: o.RequirePushedRequests,
	})
	pushed.Validate = authorize
	h, metrics := New(Deps{
		Log: o.Log,
		OAuth: oauth.New(prov, km, o.Issuer, o.Log, oauth.WithRegistrationEndpoint(reg.Endpoint()), oauth.WithJWKSMaxAge(o.JWKSMaxAge), oauth.WithTrustedProxies(o.TrustedProxies),
			oauth.WithPushedRequests(pushed, o.RequirePushedRequests), oauth.WithMetadataDocuments(lookup.Resolver != nil)),
		Admin:     admin.New(admin.Deps{Clients: clients, Users: users, Resources: resources, Consents: consent.NewService(o.Store, refreshes, o.Now), Audit: o.Store, Keys: km, KeyPublishDelay: o.KeyPublishDelay, Auth: auth, Log: o.Log, Grants: refreshes}),
		Flat:      flat.New(clients, auth, o.Log),
		M2M:       m2m.New(clients, auth, o.Log),
		Store:     o.Store,
		Authorize: web.RecordSource(sourceaddr.New(o.TrustedProxies), authorize.Handler()),
		Logout: web.NewLogout(web.LogoutDeps{
			Clients: clients, Sessions: o.Store, Hints: issuer, Issuer: o.Issuer, Now: o.Now, Log: o.Log,
		}).Handler(),
		UserInfo: userinfo.New(auth, users, "latchkey", o.Log),
		CORS:     cors.New(clients, o.Log),

		Register:        reg,
		Idempotency:     idem,
		AccessLogSample: o.AccessLogSample,
	})
	return &App{Handler: h, Metrics: metrics, Clients: clients, Users: users, Keys: km, Issuer: issuer, Provider: prov, Resources: resources,
		Refresh: refreshes, ExpireAnonymousClients: o.AnonymousClients.expire(o.Store, o.Now)}, nil
}

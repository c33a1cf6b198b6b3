package clientauth

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
)

// fakeClients holds clients by client_id; a client's secret is "s-"+id.
type fakeClients struct {
	byID      map[string]client.Client
	throttled bool
	storeErr  error
}

func (f fakeClients) Lookup(_ context.Context, id string) (client.Client, error) {
	if f.storeErr != nil {
		return client.Client{}, f.storeErr
	}
	c, ok := f.byID[id]
	if !ok {
		return client.Client{}, client.ErrNotFound
	}
	return c, nil
}

func (f fakeClients) AuthenticateFrom(ctx context.Context, _, id, secret string) (client.Client, error) {
	if f.throttled {
		return client.Client{}, &client.ThrottledError{RetryAfter: 30 * time.Second}
	}
	c, err := f.Lookup(ctx, id)
	if errors.Is(err, client.ErrNotFound) || err == nil && (c.Type != client.Confidential || secret != "s-"+id) {
		return client.Client{}, client.ErrAuthentication
	}
	if err == nil && !c.Enabled {
		return client.Client{}, client.ErrDisabled
	}
	return c, err
}

func newFake() fakeClients {
	cs := []client.Client{
		{ClientID: "basic", Type: client.Confidential, TokenEndpointAuthMethod: client.AuthMethodSecretBasic, Enabled: true},
		{ClientID: "post", Type: client.Confidential, TokenEndpointAuthMethod: client.AuthMethodSecretPost, Enabled: true},
		{ClientID: "spa", Type: client.Public, TokenEndpointAuthMethod: client.AuthMethodNone, Enabled: true},
		{ClientID: "off-spa", Type: client.Public, TokenEndpointAuthMethod: client.AuthMethodNone},
		{ClientID: "off", Type: client.Confidential, TokenEndpointAuthMethod: client.AuthMethodSecretBasic},
		{ClientID: "odd", Type: client.Confidential, TokenEndpointAuthMethod: "private_key_jwt", Enabled: true},
		// A row the client core would never write: a confidential client
		// registered for none must still not get in without its secret.
		{ClientID: "misfiled", Type: client.Confidential, TokenEndpointAuthMethod: client.AuthMethodNone, Enabled: true},
	}
	f := fakeClients{byID: map[string]client.Client{}}
	for _, c := range cs {
		f.byID[c.ClientID] = c
	}
	return f
}

func TestAuthenticate(t *testing.T) {
	basic, post, none := client.AuthMethodSecretBasic, client.AuthMethodSecretPost, client.AuthMethodNone
	tests := []struct {
		name   string
		cr     oauth2.Credentials
		want   string // client_id on success
		desc   string // on failure: the invalid_client description
		status int
	}{
		{"basic client with basic", oauth2.Credentials{ClientID: "basic", Secret: "s-basic", Method: basic}, "basic", "", 0},
		{"basic client with post: secret methods interchange", oauth2.Credentials{ClientID: "basic", Secret: "s-basic", Method: post}, "basic", "", 0},
		{"post client with basic", oauth2.Credentials{ClientID: "post", Secret: "s-post", Method: basic}, "post", "", 0},
		{"public client with none", oauth2.Credentials{ClientID: "spa", Method: none}, "spa", "", 0},

		{"no client_id", oauth2.Credentials{Method: none}, "", "client authentication failed", 401},
		{"wrong secret", oauth2.Credentials{ClientID: "basic", Secret: "nope", Method: basic}, "", "client authentication failed", 401},
		{"unknown client with a secret", oauth2.Credentials{ClientID: "ghost", Secret: "s-ghost", Method: basic}, "", "client authentication failed", 401},
		{"unknown client with none", oauth2.Credentials{ClientID: "ghost", Method: none}, "", "client authentication failed", 401},
		{"confidential client with none looks unknown", oauth2.Credentials{ClientID: "basic", Method: none}, "", "client authentication failed", 401},
		{"public client with a secret", oauth2.Credentials{ClientID: "spa", Secret: "s-spa", Method: post}, "", "client authentication failed", 401},
		{"malformed client_id with none", oauth2.Credentials{ClientID: "a\x00b", Method: none}, "", "client authentication failed", 401},
		{"disabled confidential client", oauth2.Credentials{ClientID: "off", Secret: "s-off", Method: basic}, "", "client is disabled", 401},
		{"disabled public client", oauth2.Credentials{ClientID: "off-spa", Method: none}, "", "client is disabled", 401},
		{"confidential client misfiled as none", oauth2.Credentials{ClientID: "misfiled", Method: none}, "", "client authentication failed", 401},
		{"method not enabled here", oauth2.Credentials{ClientID: "basic", Secret: "x", Method: "tls_client_auth"}, "", "client authentication failed", 401},
		{"registered method not enabled here", oauth2.Credentials{ClientID: "odd", Secret: "s-odd", Method: basic}, "",
			"this client is registered for private_key_jwt authentication, not client_secret_basic", 401},
	}
	a := Default(newFake(), PrivateKeyJWT{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := a.Authenticate(t.Context(), tt.cr)
			if tt.want != "" {
				if err != nil || c.ClientID != tt.want {
					t.Fatalf("got %q, %v; want %q", c.ClientID, err, tt.want)
				}
				return
			}
			var oe *oauth2.Error
			if !errors.As(err, &oe) || oe.Code != oauth2.CodeInvalidClient || oe.Description != tt.desc || oe.HTTPStatus() != tt.status {
				t.Fatalf("err = %v, want invalid_client %q (%d)", err, tt.desc, tt.status)
			}
			if c.ClientID != "" {
				t.Errorf("a client was returned with the error: %+v", c)
			}
		})
	}
}

func TestAuthenticateThrottledAndStoreErrors(t *testing.T) {
	f := newFake()
	f.throttled = true
	_, err := Default(f, PrivateKeyJWT{}).Authenticate(t.Context(), oauth2.Credentials{ClientID: "basic", Secret: "s-basic", Method: client.AuthMethodSecretBasic})
	var oe *oauth2.Error
	if !errors.As(err, &oe) || oe.RetryAfter != 30*time.Second || oe.HTTPStatus() != 429 {
		t.Errorf("throttled: err = %v", err)
	}
	broken := errors.New("store down")
	_, err = Default(fakeClients{storeErr: broken}, PrivateKeyJWT{}).Authenticate(t.Context(), oauth2.Credentials{ClientID: "spa", Method: client.AuthMethodNone})
	if !errors.Is(err, broken) || errors.As(err, &oe) {
		t.Errorf("store failure: err = %v, want the store's error, not an OAuth error", err)
	}
}

func TestMethodsAdvertised(t *testing.T) {
	got := Default(newFake(), PrivateKeyJWT{Spent: &spentMap{}}).Methods()
	if len(got) != len(client.AuthMethods) {
		t.Fatalf("Methods = %v, want every method of client.AuthMethods %v", got, client.AuthMethods)
	}
	for i, m := range client.AuthMethods {
		if got[i] != m {
			t.Errorf("Methods = %v, want %v", got, client.AuthMethods)
		}
	}
}

func TestFromRequest(t *testing.T) {
	basicHdr := "Basic " + b64("cli:s3cret")
	tests := []struct {
		name string
		auth string
		form url.Values
		want oauth2.Credentials
		code string
	}{
		{"basic", basicHdr, url.Values{}, oauth2.Credentials{ClientID: "cli", Secret: "s3cret", Method: client.AuthMethodSecretBasic, Source: "10.0.0.1"}, ""},
		{"basic with matching client_id", basicHdr, url.Values{"client_id": {"cli"}}, oauth2.Credentials{ClientID: "cli", Secret: "s3cret", Method: client.AuthMethodSecretBasic, Source: "10.0.0.1"}, ""},
		{"post", "", url.Values{"client_id": {"cli"}, "client_secret": {"x"}}, oauth2.Credentials{ClientID: "cli", Secret: "x", Method: client.AuthMethodSecretPost, Source: "10.0.0.1"}, ""},
		{"none", "", url.Values{"client_id": {"cli"}}, oauth2.Credentials{ClientID: "cli", Method: client.AuthMethodNone, Source: "10.0.0.1"}, ""},
		{"basic and empty client_id", basicHdr, url.Values{"client_id": {""}}, oauth2.Credentials{ClientID: "cli", Secret: "s3cret", Method: client.AuthMethodSecretBasic, Source: "10.0.0.1"}, ""},
		{"basic and empty client_secret", basicHdr, url.Values{"client_secret": {""}}, oauth2.Credentials{ClientID: "cli", Secret: "s3cret", Method: client.AuthMethodSecretBasic, Source: "10.0.0.1"}, ""},
		{"empty client_secret is none", "", url.Values{"client_id": {"cli"}, "client_secret": {""}}, oauth2.Credentials{ClientID: "cli", Method: client.AuthMethodNone, Source: "10.0.0.1"}, ""},
		{"both", basicHdr, url.Values{"client_secret": {"x"}}, oauth2.Credentials{Method: client.AuthMethodSecretBasic}, oauth2.CodeInvalidRequest},
		{"other client_id", basicHdr, url.Values{"client_id": {"other"}}, oauth2.Credentials{Method: client.AuthMethodSecretBasic}, oauth2.CodeInvalidRequest},
		{"bearer scheme", "Bearer x", url.Values{}, oauth2.Credentials{Method: client.AuthMethodSecretBasic}, oauth2.CodeInvalidRequest},
		{"malformed basic", "Basic !!", url.Values{}, oauth2.Credentials{Method: client.AuthMethodSecretBasic}, oauth2.CodeInvalidClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromRequest(tt.auth, tt.form, "10.0.0.1")
			var oe *oauth2.Error
			switch {
			case tt.code == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.code != "" && (!errors.As(err, &oe) || oe.Code != tt.code):
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzFromRequest: any header and form either yield credentials whose
// method says how they were sent, or an invalid_request/invalid_client
// error that leaks no part of the credentials.
func FuzzFromRequest(f *testing.F) {
	f.Add("Basic "+b64("cli:s"), "client_id=cli")
	f.Add("", "client_id=cli&client_secret=x")
	f.Add("Basic !!", "")
	f.Add("bAsIc "+b64("a%3Ab:c%2"), "client_id=a:b")
	f.Fuzz(func(t *testing.T, auth, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		cr, err := FromRequest(auth, form, "src")
		if err != nil {
			var oe *oauth2.Error
			if !errors.As(err, &oe) || oe.Code != oauth2.CodeInvalidRequest && oe.Code != oauth2.CodeInvalidClient {
				t.Fatalf("err = %v", err)
			}
			if cr.ClientID != "" || cr.Secret != "" {
				t.Fatalf("credentials returned with an error: %+v", cr)
			}
			return
		}
		switch cr.Method {
		case client.AuthMethodSecretBasic:
			if auth == "" || cr.ClientID == "" {
				t.Fatalf("basic without a header or id: %+v", cr)
			}
		case client.AuthMethodSecretPost:
			if form.Get("client_secret") == "" || cr.Secret != form.Get("client_secret") {
				t.Fatalf("post: %+v for %v", cr, form)
			}
		case client.AuthMethodNone:
			if cr.Secret != "" || auth != "" {
				t.Fatalf("none with a secret or header: %+v", cr)
			}
		case client.AuthMethodPrivateKeyJWT:
			if cr.Secret != "" || auth != "" || cr.Assertion == "" {
				t.Fatalf("private_key_jwt with a secret or header, or without an assertion: %+v", cr)
			}
		default:
			t.Fatalf("method %q", cr.Method)
		}
		if cr.Source != "src" {
			t.Fatalf("source lost: %+v", cr)
		}
	})
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
)

// refresher is the refresh scenario's state. Refresh tokens rotate, so
// each worker owns one chain: chains[w] is worker w's current refresh
// token, read and written only by that worker (and by setup before the
// workers start).
type refresher struct {
	l        *loader
	clientID string
	secret   string
	username string
	password string
	scope    string
	chains   []string
}

// setupParallelism bounds the password grants setup runs at once: each
// costs the server one argon2id check (19 MiB), so asking for 64 at once
// only queues them.
const setupParallelism = 4

// newRefresher creates, through the admin API with the admin client, a
// user with a random password and a confidential client with the password
// and refresh_token grants, then gives each of conc workers a refresh
// token of its own with the password grant. None of this is timed.
func (l *loader) newRefresher(ctx context.Context, conc int) (*refresher, error) {
	admin, err := l.token(ctx, l.bases[0], "clients:create users:create")
	if err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	suffix := rand.Text()[:10]
	rf := &refresher{l: l, username: "load-" + suffix, password: rand.Text(), scope: l.refreshScope, chains: make([]string, conc)}
	user, err := json.Marshal(map[string]any{"username": rf.username, "display_name": "latchkey-load refresh", "password": rf.password})
	if err != nil {
		return nil, err
	}
	if err := l.expect(ctx, "POST", l.bases[0]+"/v1/admin/users", "application/json", string(user), "Bearer "+admin, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	cl, err := json.Marshal(map[string]any{"client_name": "latchkey-load refresh " + suffix, "client_type": "confidential",
		"grant_types": []string{"password", "refresh_token"}, "allowed_scopes": []string{rf.scope},
		"redirect_uris": []string{"https://load.example/cb"}}) // required by the admin API, never used
	if err != nil {
		return nil, err
	}
	var created struct {
		Client struct {
			ClientID string `json:"client_id"`
		} `json:"client"`
		ClientSecret string `json:"client_secret"`
	}
	if err := l.call(ctx, "POST", l.bases[0]+"/v1/admin/oauth-clients", "application/json", string(cl), "Bearer "+admin, http.StatusCreated, &created); err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	if created.Client.ClientID == "" || created.ClientSecret == "" {
		return nil, errors.New("create client: no client_id or client_secret in the response")
	}
	rf.clientID, rf.secret = created.Client.ClientID, created.ClientSecret

	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, setupParallelism)
		errMu sync.Mutex
		first error
	)
	for w := range conc {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			tok, err := rf.login(ctx, l.bases[w%len(l.bases)])
			if err != nil {
				errMu.Lock()
				if first == nil {
					first = err
				}
				errMu.Unlock()
				return
			}
			rf.chains[w] = tok
		})
	}
	wg.Wait()
	if first != nil {
		return nil, fmt.Errorf("starting the refresh chains: %w", first)
	}
	return rf, nil
}

// login runs the password grant and returns the new chain's refresh token.
func (rf *refresher) login(ctx context.Context, base string) (string, error) {
	tr, err := rf.l.grant(ctx, base, rf.clientID, rf.secret,
		url.Values{"grant_type": {"password"}, "username": {rf.username}, "password": {rf.password}, "scope": {rf.scope}})
	if err != nil {
		return "", err
	}
	if tr.RefreshToken == "" {
		return "", errors.New("password grant: no refresh_token (does the client have the refresh_token grant?)")
	}
	return tr.RefreshToken, nil
}

// rotate is one timed operation: worker redeems its current refresh token
// at the next target and keeps the new one. A failed rotation is an error,
// and the worker starts a new chain (the rotated-away token may be dead).
func (rf *refresher) rotate(ctx context.Context, worker int) error {
	base := rf.l.base()
	tr, err := rf.l.grant(ctx, base, rf.clientID, rf.secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rf.chains[worker]}})
	if err == nil && tr.RefreshToken == "" {
		err = errors.New("refresh grant: no new refresh_token")
	}
	if err == nil {
		rf.chains[worker] = tr.RefreshToken
		return nil
	}
	if tok, lerr := rf.login(ctx, base); lerr == nil {
		rf.chains[worker] = tok
	}
	return err
}

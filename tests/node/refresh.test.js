// Refresh tokens with real Node clients: openid-client v6's
// refreshTokenGrant and oauth4webapi's refreshTokenGrantRequest rotate a
// refresh token from an authorization code flow (PKCE, the login and
// consent forms driven as in signin.test.js); a rotated token presented
// again is invalid_grant and revokes the whole family. TestNodeClients
// (in internal/server) creates a public client with the refresh_token
// grant and offline_access and sets ISSUER, REFRESH_CLIENT_ID,
// SPA_REDIRECT_URI, SPA_USERNAME and SPA_PASSWORD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';
import { Browser } from './formbrowser.js';

const { ISSUER, REFRESH_CLIENT_ID, SPA_REDIRECT_URI, SPA_USERNAME, SPA_PASSWORD } = process.env;
const SCOPE = 'openid offline_access api:read';
const insecure = ISSUER?.startsWith('http://');
const missing = !(ISSUER && REFRESH_CLIENT_ID && SPA_REDIRECT_URI && SPA_USERNAME && SPA_PASSWORD)
  && 'set ISSUER, REFRESH_CLIENT_ID, SPA_REDIRECT_URI, SPA_USERNAME and SPA_PASSWORD to run the refresh token tests';

async function discover() {
  return client.discovery(new URL(ISSUER), REFRESH_CLIENT_ID, undefined, client.None(),
    insecure ? { execute: [client.allowInsecureRequests] } : undefined);
}

// signIn runs the authorization code flow for SCOPE in a fresh browser
// (the consent page only the first time: consent is remembered) and
// returns openid-client's token response.
async function signIn(config) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authURL = client.buildAuthorizationUrl(config, {
    redirect_uri: SPA_REDIRECT_URI, scope: SCOPE, state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
  });
  const b = new Browser();
  let res = await b.fetch(authURL);
  assert.equal(res.status, 200, 'the login page');
  res = await b.submit(authURL, await res.text(), { username: SPA_USERNAME, password: SPA_PASSWORD });
  if (res.status === 200) res = await b.submit(authURL, await res.text(), { consent: 'allow' });
  assert.equal(res.status, 303, 'sign-in redirects to the client');
  const tokens = await client.authorizationCodeGrant(config, new URL(res.headers.get('location')), {
    pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
  assert.ok(tokens.refresh_token, 'offline_access granted: the code exchange returns a refresh token');
  return tokens;
}

const invalid = (code) => (err) => err.error === code;

test('openid-client refreshTokenGrant rotates; reuse revokes the family', { skip: missing }, async () => {
  const config = await discover();
  assert.ok(config.serverMetadata().grant_types_supported?.includes('refresh_token'), 'discovery lists refresh_token');
  const first = await signIn(config);
  const sub = first.claims().sub;

  const second = await client.refreshTokenGrant(config, first.refresh_token);
  assert.ok(second.access_token && second.refresh_token);
  assert.notEqual(second.refresh_token, first.refresh_token, 'the refresh token rotates');
  assert.equal(second.claims()?.sub, sub, 'the ID token is reissued for the same user (OIDC Core 12.2)');
  assert.equal(second.claims()?.nonce, undefined, 'a reissued ID token carries no nonce');

  // Scope may narrow, never widen.
  await assert.rejects(client.refreshTokenGrant(config, second.refresh_token, { scope: 'openid api:write' }), invalid('invalid_scope'));
  const narrowed = await client.refreshTokenGrant(config, second.refresh_token, { scope: 'api:read' });
  assert.equal(narrowed.scope, 'api:read');
  assert.equal(narrowed.id_token, undefined, 'no ID token without openid');

  // The first token again: reuse. The family goes, the live token too.
  await assert.rejects(client.refreshTokenGrant(config, first.refresh_token), invalid('invalid_grant'));
  await assert.rejects(client.refreshTokenGrant(config, narrowed.refresh_token), invalid('invalid_grant'));
});

test('oauth4webapi refreshTokenGrantRequest rotates; the rotated token is refused', { skip: missing }, async () => {
  const { refresh_token: rt } = await signIn(await discover());
  const issuer = new URL(ISSUER);
  const opts = { [oauth.allowInsecureRequests]: insecure };
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, opts));
  const c = { client_id: REFRESH_CLIENT_ID };

  const res = await oauth.refreshTokenGrantRequest(as, c, oauth.None(), rt, opts);
  const next = await oauth.processRefreshTokenResponse(as, c, res);
  assert.ok(next.access_token);
  assert.ok(next.refresh_token && next.refresh_token !== rt, 'the refresh token rotates');
  assert.equal(next.token_type, 'bearer');

  const again = await oauth.refreshTokenGrantRequest(as, c, oauth.None(), rt, opts);
  await assert.rejects(oauth.processRefreshTokenResponse(as, c, again),
    (err) => err instanceof oauth.ResponseBodyError && err.error === 'invalid_grant');
  const live = await oauth.refreshTokenGrantRequest(as, c, oauth.None(), next.refresh_token, opts);
  await assert.rejects(oauth.processRefreshTokenResponse(as, c, live),
    (err) => err instanceof oauth.ResponseBodyError && err.error === 'invalid_grant', 'reuse revoked the family');
});

// openid-client's authorization code flow with PKCE against a running
// Latchkey, the login and consent pages driven with plain fetch as a
// browser would submit them. TestNodeClients (in internal/server) creates
// the user and a public (SPA) client with a loopback redirect URI and
// sets ISSUER, SPA_CLIENT_ID, SPA_REDIRECT_URI, SPA_SCOPE, SPA_USERNAME
// and SPA_PASSWORD. Nobody serves the redirect URI: the test stops at the
// final 303 and hands its Location to openid-client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { Browser } from './formbrowser.js';

const { ISSUER, SPA_CLIENT_ID, SPA_REDIRECT_URI, SPA_USERNAME, SPA_PASSWORD } = process.env;
const SPA_SCOPE = process.env.SPA_SCOPE ?? 'openid';
const insecure = ISSUER?.startsWith('http://');
const missing = !(ISSUER && SPA_CLIENT_ID && SPA_REDIRECT_URI && SPA_USERNAME && SPA_PASSWORD)
  && 'set ISSUER, SPA_CLIENT_ID, SPA_REDIRECT_URI, SPA_USERNAME and SPA_PASSWORD to run the sign-in test';

test('openid-client signs a user in: PKCE, login and consent forms, code grant, ID token', { skip: missing }, async (t) => {
  const config = await client.discovery(new URL(ISSUER), SPA_CLIENT_ID, undefined, client.None(),
    insecure ? { execute: [client.allowInsecureRequests] } : undefined);
  const md = config.serverMetadata();
  assert.ok(md.authorization_endpoint, 'discovery names the authorization endpoint');
  assert.ok(md.code_challenge_methods_supported?.includes('S256'), 'discovery lists PKCE S256');

  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authURL = client.buildAuthorizationUrl(config, {
    redirect_uri: SPA_REDIRECT_URI, scope: SPA_SCOPE,
    code_challenge: codeChallenge, code_challenge_method: 'S256', state, nonce,
  });

  const b = new Browser();
  let res = await b.fetch(authURL);
  assert.equal(res.status, 200, 'the authorization endpoint shows the login page');
  let html = await res.text();
  assert.match(html, /<h1>Sign in<\/h1>/);
  assert.ok(b.cookies.size > 0, 'the login page sets the session cookie');

  res = await b.submit(authURL, html, { username: SPA_USERNAME, password: SPA_PASSWORD });
  assert.equal(res.status, 200, 'a correct password leads to the consent page');
  html = await res.text();
  assert.match(html, /name="consent" value="allow"/, 'the consent page offers Allow');

  res = await b.submit(authURL, html, { consent: 'allow' });
  assert.equal(res.status, 303, 'consent redirects to the client');
  const callback = new URL(res.headers.get('location'));
  assert.equal(`${callback.origin}${callback.pathname}`, SPA_REDIRECT_URI);
  assert.ok(callback.searchParams.get('code'));
  assert.equal(callback.searchParams.get('state'), state);

  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(tokens.access_token);
  const claims = tokens.claims();
  assert.equal(claims.iss, ISSUER);
  assert.equal(claims.aud, SPA_CLIENT_ID);
  assert.equal(claims.nonce, nonce);
  assert.ok(claims.sub);

  await t.test('fetchUserInfo', { skip: !md.userinfo_endpoint && 'no userinfo_endpoint in discovery (not implemented yet)' }, async () => {
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.sub, claims.sub);
  });

  // The code is single-use: openid-client's second redemption fails, and
  // revokes what the first issued (RFC 9700 §4.4.1.1): the access token
  // no longer works.
  await assert.rejects(client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce,
  }), (err) => err.error === 'invalid_grant');
  await assert.rejects(client.fetchUserInfo(config, tokens.access_token, claims.sub), 'the revoked access token is refused at /userinfo');
});

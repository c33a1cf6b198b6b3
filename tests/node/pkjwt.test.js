// private_key_jwt (RFC 7523 §2.2) with real Node clients against a running
// Latchkey: openid-client's PrivateKeyJwt does client_credentials and the
// authorization code flow (login and consent forms posted as a browser
// would) for a client whose public key is registered inline (jwks), and
// client_credentials for one whose keys the server fetches from a
// jwks_uri over TLS; an assertion signed with jose is refused the second
// time. TestNodeClients (in internal/server) creates the clients, serves
// the jwks_uri, and sets ISSUER, PKJWT_CLIENT_ID, PKJWT_URI_CLIENT_ID,
// PKJWT_PRIVATE_JWK (the ES256 private key both clients hold, as a JWK),
// PKJWT_REDIRECT_URI, PKJWT_SCOPE, SPA_USERNAME and SPA_PASSWORD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import * as jose from 'jose';
import { Browser } from './formbrowser.js';

const { ISSUER, PKJWT_CLIENT_ID, PKJWT_URI_CLIENT_ID, PKJWT_PRIVATE_JWK, PKJWT_REDIRECT_URI, SPA_USERNAME, SPA_PASSWORD } = process.env;
const PKJWT_SCOPE = process.env.PKJWT_SCOPE ?? 'api:read';
const insecure = ISSUER?.startsWith('http://');
const missing = !(ISSUER && PKJWT_CLIENT_ID && PKJWT_URI_CLIENT_ID && PKJWT_PRIVATE_JWK && PKJWT_REDIRECT_URI && SPA_USERNAME && SPA_PASSWORD)
  && 'set ISSUER, PKJWT_CLIENT_ID, PKJWT_URI_CLIENT_ID, PKJWT_PRIVATE_JWK, PKJWT_REDIRECT_URI, SPA_USERNAME and SPA_PASSWORD to run the private_key_jwt tests';
const execute = insecure ? { execute: [client.allowInsecureRequests] } : undefined;

async function privateKey() {
  const jwk = JSON.parse(PKJWT_PRIVATE_JWK);
  return { key: await jose.importJWK(jwk, 'ES256'), kid: jwk.kid };
}

async function discover(clientId) {
  return client.discovery(new URL(ISSUER), clientId, undefined, client.PrivateKeyJwt(await privateKey()), execute);
}

test('discovery advertises private_key_jwt and its algorithms', { skip: missing }, async () => {
  const md = (await discover(PKJWT_CLIENT_ID)).serverMetadata();
  assert.ok(md.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
  assert.ok(md.token_endpoint_auth_signing_alg_values_supported.includes('ES256'));
  assert.ok(!md.token_endpoint_auth_signing_alg_values_supported.includes('none'));
  assert.ok(!md.token_endpoint_auth_signing_alg_values_supported.includes('HS256'));
});

for (const [name, clientId] of [['inline jwks', PKJWT_CLIENT_ID], ['jwks_uri', PKJWT_URI_CLIENT_ID]]) {
  test(`openid-client PrivateKeyJwt: client_credentials (${name})`, { skip: missing }, async () => {
    const config = await discover(clientId);
    for (let i = 0; i < 2; i++) { // a fresh assertion (jti) each time
      const tokens = await client.clientCredentialsGrant(config, { scope: PKJWT_SCOPE });
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.equal(tokens.scope, PKJWT_SCOPE);
    }
  });
}

test('openid-client PrivateKeyJwt: authorization code flow with PKCE and an ID token', { skip: missing }, async () => {
  const config = await discover(PKJWT_CLIENT_ID);
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authURL = client.buildAuthorizationUrl(config, {
    redirect_uri: PKJWT_REDIRECT_URI, scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256', state, nonce,
  });
  const b = new Browser();
  let res = await b.fetch(authURL);
  assert.equal(res.status, 200, 'the login page');
  let html = await res.text();
  res = await b.submit(authURL, html, { username: SPA_USERNAME, password: SPA_PASSWORD });
  if (res.status === 200) {
    html = await res.text();
    assert.match(html, /name="consent" value="allow"/, 'the consent page offers Allow');
    res = await b.submit(authURL, html, { consent: 'allow' });
  }
  assert.equal(res.status, 303, 'the sign-in redirects to the client');
  const callback = new URL(res.headers.get('location'));
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
  assert.ok(tokens.access_token);
  assert.equal(tokens.claims().aud, PKJWT_CLIENT_ID);
});

test('a client assertion works once: the replay is invalid_client', { skip: missing }, async () => {
  const md = (await discover(PKJWT_CLIENT_ID)).serverMetadata();
  const { key, kid } = await privateKey();
  const assertion = await new jose.SignJWT({ jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer(PKJWT_CLIENT_ID).setSubject(PKJWT_CLIENT_ID).setAudience(md.token_endpoint)
    .setIssuedAt().setExpirationTime('1m')
    .sign(key);
  const send = () => fetch(md.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials', scope: PKJWT_SCOPE,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
    }),
  });
  let res = await send();
  assert.equal(res.status, 200, await res.clone().text());
  res = await send();
  assert.equal(res.status, 401);
  const body = await res.json();
  assert.equal(body.error, 'invalid_client');
  assert.match(body.error_description, /already used/);
});

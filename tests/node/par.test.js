// oauth4webapi's pushed authorization request (RFC 9126) against a running
// Latchkey: the public SPA client pushes its parameters to /oauth2/par,
// sends the browser to the authorization endpoint with only client_id and
// request_uri, the login and consent forms are submitted as a browser
// would, and the code is redeemed with PKCE. TestNodeClients (in
// internal/server) sets ISSUER, SPA_CLIENT_ID, SPA_REDIRECT_URI,
// SPA_SCOPE, SPA_USERNAME and SPA_PASSWORD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { Browser } from './formbrowser.js';

const { ISSUER, SPA_CLIENT_ID, SPA_REDIRECT_URI, SPA_USERNAME, SPA_PASSWORD } = process.env;
const SPA_SCOPE = process.env.SPA_SCOPE ?? 'openid';
const missing = !(ISSUER && SPA_CLIENT_ID && SPA_REDIRECT_URI && SPA_USERNAME && SPA_PASSWORD)
  && 'set ISSUER, SPA_CLIENT_ID, SPA_REDIRECT_URI, SPA_USERNAME and SPA_PASSWORD to run the PAR test';
const opts = ISSUER?.startsWith('http://') ? { [oauth.allowInsecureRequests]: true } : {};

test('oauth4webapi pushes an authorization request and signs a user in with its request_uri', { skip: missing }, async () => {
  const issuer = new URL(ISSUER);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...opts, algorithm: 'oauth2' }));
  assert.equal(as.pushed_authorization_request_endpoint, `${ISSUER}/oauth2/par`);
  const client = { client_id: SPA_CLIENT_ID };
  const auth = oauth.None();

  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const params = new URLSearchParams({
    response_type: 'code', redirect_uri: SPA_REDIRECT_URI, scope: 'openid', state, nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
  });
  const pushed = await oauth.processPushedAuthorizationResponse(as, client,
    await oauth.pushedAuthorizationRequest(as, client, auth, params, opts));
  assert.match(pushed.request_uri, /^urn:ietf:params:oauth:request_uri:/);
  assert.equal(pushed.expires_in, 60);

  const authURL = new URL(as.authorization_endpoint);
  authURL.searchParams.set('client_id', SPA_CLIENT_ID);
  authURL.searchParams.set('request_uri', pushed.request_uri);
  const b = new Browser();
  let res = await b.fetch(authURL);
  assert.equal(res.status, 200, 'the request_uri leads to the login page');
  let html = await res.text();
  assert.doesNotMatch(html, /name="redirect_uri"/, 'the page carries a request_uri, not the parameters');

  // The request_uri works once.
  const again = await new Browser().fetch(authURL);
  assert.equal(again.status, 400, 'a spent request_uri is refused');

  res = await b.submit(authURL, html, { username: SPA_USERNAME, password: SPA_PASSWORD });
  // The consent page follows, unless signin.test.js (run alongside, same
  // user and client) already allowed these scopes.
  if (res.status === 200) {
    html = await res.text();
    assert.match(html, /name="consent" value="allow"/, 'the consent page offers Allow');
    res = await b.submit(authURL, html, { consent: 'allow' });
  }
  assert.equal(res.status, 303, 'the sign-in redirects to the client');

  const callback = oauth.validateAuthResponse(as, client, new URL(res.headers.get('location')), state);
  const tokens = await oauth.processAuthorizationCodeResponse(as, client,
    await oauth.authorizationCodeGrantRequest(as, client, auth, callback, SPA_REDIRECT_URI, codeVerifier, opts),
    { expectedNonce: nonce, requireIdToken: true });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(tokens.access_token);
});

test('the PAR endpoint refuses at push time what the authorization endpoint would', { skip: missing }, async () => {
  const issuer = new URL(ISSUER);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...opts, algorithm: 'oauth2' }));
  const client = { client_id: SPA_CLIENT_ID };
  const cases = [
    [{ redirect_uri: 'https://evil.example/cb' }, 'invalid_request'],
    [{ code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'],
    [{ response_type: 'token' }, 'unsupported_response_type'],
    [{ scope: 'openid admin' }, 'invalid_scope'],
  ];
  for (const [change, code] of cases) {
    const params = new URLSearchParams({
      response_type: 'code', redirect_uri: SPA_REDIRECT_URI, scope: SPA_SCOPE,
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()), code_challenge_method: 'S256',
    });
    for (const [k, v] of Object.entries(change)) v === undefined ? params.delete(k) : params.set(k, v);
    const res = await oauth.pushedAuthorizationRequest(as, client, oauth.None(), params, opts);
    await assert.rejects(oauth.processPushedAuthorizationResponse(as, client, res),
      (err) => err instanceof oauth.ResponseBodyError && err.error === code && err.status === 400,
      `${JSON.stringify(change)} → ${code}`);
  }
});

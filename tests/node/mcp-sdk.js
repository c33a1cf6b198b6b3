// The MCP TypeScript SDK's client-side auth() flow, with an
// OAuthClientProvider, against the example MCP server (examples/mcp-server)
// and Latchkey: the SDK reads the server's 401 challenge and RFC 9728
// metadata, then Latchkey's RFC 8414 metadata, registers through dynamic
// registration (RFC 7591), and runs the authorization code flow with PKCE
// and resource=; the test posts the login and consent forms as a browser
// would. It then calls the server's tool with the token, and shows that
// the other server refuses it. When the access token is rejected the SDK
// refreshes it (RFC 8707: the refreshed token keeps the resource as its
// aud). A second test does the same with a Client ID Metadata Document
// URL as client_id instead of registering, and a third with a document
// whose client authenticates with private_key_jwt (the SDK's
// createPrivateKeyJwtAuth; keys at a jwks_uri). TestMCPSDK (in
// examples/mcp-server) starts both servers, serves the documents and the
// key set over TLS, and sets ISSUER, MCP_SERVER_URL, MCP_OTHER_SERVER_URL,
// MCP_USERNAME, MCP_PASSWORD, MCP_CLIENT_METADATA_URL,
// MCP_SIGNED_METADATA_URL and MCP_SIGNED_PRIVATE_JWK. Not a *.test.js file: plain
// `node --test` (TestNodeClients) leaves it out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auth, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { createPrivateKeyJwtAuth } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { Browser } from './formbrowser.js';

const { ISSUER, MCP_SERVER_URL, MCP_OTHER_SERVER_URL, MCP_USERNAME, MCP_PASSWORD, MCP_CLIENT_METADATA_URL,
  MCP_SIGNED_METADATA_URL, MCP_SIGNED_PRIVATE_JWK } = process.env;

// An OAuthClientProvider that keeps everything in memory and, instead of
// opening a browser, records where it was sent.
// With clientMetadataUrl set, the SDK uses it as the client_id (SEP-991)
// when the authorization server advertises
// client_id_metadata_document_supported.
class MemoryProvider {
  redirectUrl = 'http://127.0.0.1:53682/callback';
  clientMetadata = {
    client_name: 'MCP SDK test agent',
    redirect_uris: [this.redirectUrl],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
  #client; #tokens; #verifier; #discovery;
  authorizationUrl;
  constructor(clientMetadataUrl) { this.clientMetadataUrl = clientMetadataUrl; }
  clientInformation() { return this.#client; }
  saveClientInformation(info) { this.#client = info; }
  tokens() { return this.#tokens; }
  saveTokens(tokens) { this.#tokens = tokens; }
  redirectToAuthorization(url) { this.authorizationUrl = url; }
  saveCodeVerifier(v) { this.#verifier = v; }
  codeVerifier() { return this.#verifier; }
  saveDiscoveryState(s) { this.#discovery = s; }
  discoveryState() { return this.#discovery; }
}

async function callTool(url, token) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ tool: 'whoami' }),
  });
}

function audOf(token) {
  return [JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).aud].flat();
}

// authorizeAndRefresh runs the whole flow with provider: discovery,
// registration (or the metadata document URL), authorization, the tool
// call, the refusal at the other server, then a refresh.
async function authorizeAndRefresh(provider, clientName) {
  assert.ok(ISSUER && MCP_SERVER_URL && MCP_OTHER_SERVER_URL && MCP_USERNAME && MCP_PASSWORD && MCP_CLIENT_METADATA_URL,
    'set ISSUER, MCP_SERVER_URL, MCP_OTHER_SERVER_URL, MCP_USERNAME, MCP_PASSWORD and MCP_CLIENT_METADATA_URL');
  // The server's 401 names its metadata and scope.
  const first = await callTool(MCP_SERVER_URL);
  assert.equal(first.status, 401);
  const { resourceMetadataUrl, scope } = extractWWWAuthenticateParams(first);
  assert.ok(resourceMetadataUrl, 'the challenge names resource_metadata');
  assert.equal(scope, 'mcp:tools');

  const seen = [];
  const fetchFn = (url, init) => { seen.push(String(url)); return fetch(url, init); };
  let result = await auth(provider, { serverUrl: MCP_SERVER_URL, resourceMetadataUrl, scope, fetchFn });
  assert.equal(result, 'REDIRECT');
  assert.ok(seen.some((u) => u.includes('/.well-known/oauth-protected-resource')), 'RFC 9728 metadata read');
  assert.ok(seen.some((u) => u.startsWith(ISSUER) && u.includes('/.well-known/')), "Latchkey's metadata read");
  assert.ok(provider.clientInformation()?.client_id, 'a client_id');
  const registered = seen.some((u) => u.startsWith(ISSUER) && u.includes('/register'));
  if (provider.clientMetadataUrl) {
    assert.equal(provider.clientInformation().client_id, provider.clientMetadataUrl, 'the document URL is the client_id');
    assert.ok(!registered, 'no dynamic registration');
  } else {
    assert.ok(registered, 'registered through DCR');
  }
  const authURL = provider.authorizationUrl;
  assert.equal(authURL.searchParams.get('resource'), MCP_SERVER_URL, 'the authorization request names the resource');
  assert.equal(authURL.searchParams.get('code_challenge_method'), 'S256');

  // The browser: login, consent, redirect with the code.
  const b = new Browser();
  let res = await b.fetch(authURL);
  assert.equal(res.status, 200, 'login page');
  res = await b.submit(authURL, await res.text(), { username: MCP_USERNAME, password: MCP_PASSWORD });
  assert.equal(res.status, 200, 'consent page');
  const consent = await res.text();
  assert.ok(consent.includes(clientName), 'the consent page names the client');
  assert.ok(consent.includes(MCP_SERVER_URL), 'the consent page names the resource (RFC 8707)');
  res = await b.submit(authURL, consent, { consent: 'allow' });
  assert.equal(res.status, 303);
  const back = new URL(res.headers.get('location'));
  assert.equal(back.origin + back.pathname, provider.redirectUrl);
  assert.equal(back.searchParams.get('iss'), ISSUER);
  const code = back.searchParams.get('code');
  assert.ok(code, 'a code');

  result = await auth(provider, { serverUrl: MCP_SERVER_URL, resourceMetadataUrl, scope, authorizationCode: code, fetchFn });
  assert.equal(result, 'AUTHORIZED');
  const token = provider.tokens().access_token;
  assert.deepEqual(audOf(token), [MCP_SERVER_URL], "the token's aud is the resource");

  res = await callTool(MCP_SERVER_URL, token);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.result.client_id, provider.clientInformation().client_id);
  assert.deepEqual(body.result.scopes, ['mcp:tools']);

  // The same token at another resource server: refused.
  res = await callTool(MCP_OTHER_SERVER_URL, token);
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate'), /error="invalid_token"/);

  // The server rejects the token (as it would once it expired): the SDK
  // refreshes with the refresh token and resource=, and the refreshed
  // token is still for the resource.
  const before = provider.tokens();
  assert.ok(before.refresh_token, 'a refresh token (the client has the refresh_token grant)');
  provider.saveTokens({ ...before, access_token: 'expired' });
  res = await callTool(MCP_SERVER_URL, 'expired');
  assert.equal(res.status, 401);
  seen.length = 0;
  result = await auth(provider, { serverUrl: MCP_SERVER_URL, resourceMetadataUrl, scope, fetchFn });
  assert.equal(result, 'AUTHORIZED', 'refreshed without a browser');
  assert.ok(seen.some((u) => u.startsWith(ISSUER) && u.includes('/token')), 'the token endpoint was called');
  const after = provider.tokens();
  assert.notEqual(after.access_token, token, 'a new access token');
  assert.ok(after.refresh_token && after.refresh_token !== before.refresh_token, 'the refresh token rotated');
  assert.deepEqual(audOf(after.access_token), [MCP_SERVER_URL], "the refreshed token's aud is still the resource");
  res = await callTool(MCP_SERVER_URL, after.access_token);
  assert.equal(res.status, 200, 'the refreshed token works at the server');
  assert.equal((await res.json()).result.client_id, provider.clientInformation().client_id);
  res = await callTool(MCP_OTHER_SERVER_URL, after.access_token);
  assert.equal(res.status, 401, 'and still not at the other server');
  // The rotated refresh token is spent (a client that signs assertions
  // signs this request too, so the refusal is about the token).
  const tokenURL = new URL('/oauth2/token', ISSUER);
  const params = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: before.refresh_token,
    client_id: provider.clientInformation().client_id, resource: MCP_SERVER_URL });
  await provider.addClientAuthentication?.(new Headers(), params, tokenURL, undefined);
  const replay = await fetch(tokenURL, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: params,
  });
  assert.equal(replay.status, 400);
  assert.equal((await replay.json()).error, 'invalid_grant');
}

test('the MCP SDK authorizes against Latchkey through the example server (DCR, PKCE, resource, refresh)', { timeout: 60_000 }, async () => {
  await authorizeAndRefresh(new MemoryProvider(), 'MCP SDK test agent');
});

test('the MCP SDK uses a Client ID Metadata Document URL as its client_id', { timeout: 60_000 }, async () => {
  await authorizeAndRefresh(new MemoryProvider(MCP_CLIENT_METADATA_URL), 'MCP SDK metadata document agent');
});

test('the MCP SDK uses a metadata document whose client authenticates with private_key_jwt', { timeout: 60_000 }, async () => {
  assert.ok(MCP_SIGNED_METADATA_URL && MCP_SIGNED_PRIVATE_JWK, 'set MCP_SIGNED_METADATA_URL and MCP_SIGNED_PRIVATE_JWK');
  const provider = new MemoryProvider(MCP_SIGNED_METADATA_URL);
  provider.clientMetadata = { ...provider.clientMetadata, token_endpoint_auth_method: 'private_key_jwt' };
  // The SDK signs each token request with the agent's key (no kid: the
  // server tries the document's keys that fit ES256).
  provider.addClientAuthentication = createPrivateKeyJwtAuth({
    issuer: MCP_SIGNED_METADATA_URL, subject: MCP_SIGNED_METADATA_URL,
    privateKey: JSON.parse(MCP_SIGNED_PRIVATE_JWK), alg: 'ES256',
  });
  await authorizeAndRefresh(provider, 'MCP SDK signed agent');
});

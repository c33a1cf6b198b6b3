// Real Node clients against a running Latchkey. TestNodeClients (in
// internal/server) starts the server and a confidential client, then runs
// `node --test tests/node/` with ISSUER, CLIENT_ID, CLIENT_SECRET and
// SCOPE set. Run by hand against any server with the same variables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';

const { ISSUER, CLIENT_ID, CLIENT_SECRET } = process.env;
const SCOPE = process.env.SCOPE ?? '';
const insecure = ISSUER?.startsWith('http://');

test('environment names a running server', () => {
  assert.ok(ISSUER && CLIENT_ID && CLIENT_SECRET, 'set ISSUER, CLIENT_ID and CLIENT_SECRET');
});

async function discover() {
  return client.discovery(new URL(ISSUER), CLIENT_ID, undefined, client.ClientSecretBasic(CLIENT_SECRET),
    insecure ? { execute: [client.allowInsecureRequests] } : undefined);
}

test('openid-client discovers the server', async () => {
  const config = await discover();
  const md = config.serverMetadata();
  assert.equal(md.issuer, ISSUER);
  assert.ok(md.token_endpoint.startsWith(ISSUER));
  assert.ok(md.jwks_uri);
});

test('client_credentials with openid-client; the access token passes RFC 9068 validation', async () => {
  const config = await discover();
  const tokens = await client.clientCredentialsGrant(config, SCOPE ? { scope: SCOPE } : {});
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(tokens.expires_in > 0);
  if (SCOPE) assert.equal(tokens.scope, SCOPE);

  // oauth4webapi (openid-client's protocol core) validates it as a
  // resource server would: typ at+jwt, ES256 against the JWKS, iss, aud,
  // exp, iat, sub, client_id, jti.
  const as = config.serverMetadata();
  const request = new Request('https://resource.example/', { headers: { authorization: `Bearer ${tokens.access_token}` } });
  const claims = await oauth.validateJwtAccessToken(as, request, ISSUER,
    insecure ? { [oauth.allowInsecureRequests]: true } : undefined);
  assert.equal(claims.iss, ISSUER);
  assert.equal(claims.client_id, CLIENT_ID);
  assert.ok(claims.sub);
  assert.equal(claims.scope ?? '', SCOPE);
  assert.ok(claims.jti);

  // And jose's jwtVerify against the JWKS, checking the header too.
  const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri));
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
    issuer: ISSUER, audience: ISSUER, typ: 'at+jwt', algorithms: ['ES256'],
  });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.ok(protectedHeader.kid);
  assert.equal(payload.jti, claims.jti);
});

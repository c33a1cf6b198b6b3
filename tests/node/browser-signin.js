// Real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) signs a user in for a public SPA client: the login
// page, the consent page, then the redirect to the client's loopback
// redirect URI with a code, which openid-client redeems (PKCE). Nobody
// serves the redirect URI: the test intercepts the navigation to it.
// It screenshots both pages into SCREENSHOT_DIR. TestBrowserSignin (in
// internal/server) starts the server and sets ISSUER, SPA_CLIENT_ID,
// SPA_REDIRECT_URI, SPA_SCOPE, SPA_USERNAME, SPA_PASSWORD, CHROMIUM,
// SCREENSHOT_DIR and SPA_RESOURCE (optional: an RFC 8707 resource the SPA
// asks for, which the consent page must name and the access token's aud
// must be). Not a *.test.js file: plain `node --test` leaves it out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';

const { ISSUER, SPA_CLIENT_ID, SPA_REDIRECT_URI, SPA_USERNAME, SPA_PASSWORD, SCREENSHOT_DIR } = process.env;
const SPA_SCOPE = process.env.SPA_SCOPE ?? 'openid';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SPA_RESOURCE = process.env.SPA_RESOURCE;

test('Chromium signs in through the login and consent pages for a public SPA client', { timeout: 60_000 }, async (t) => {
  assert.ok(ISSUER && SPA_CLIENT_ID && SPA_REDIRECT_URI && SPA_USERNAME && SPA_PASSWORD && SCREENSHOT_DIR,
    'set ISSUER, SPA_CLIENT_ID, SPA_REDIRECT_URI, SPA_USERNAME, SPA_PASSWORD and SCREENSHOT_DIR');
  const config = await client.discovery(new URL(ISSUER), SPA_CLIENT_ID, undefined, client.None(),
    ISSUER.startsWith('http://') ? { execute: [client.allowInsecureRequests] } : undefined);
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authURL = client.buildAuthorizationUrl(config, {
    redirect_uri: SPA_REDIRECT_URI, scope: SPA_SCOPE, state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
    ...(SPA_RESOURCE ? { resource: SPA_RESOURCE } : {}),
  });

  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, timeout: 20_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 800, height: 600 }, deviceScaleFactor: 1, colorScheme: 'light' });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const consoleLog = [];
    page.on('console', (m) => consoleLog.push(`${m.type()}: ${m.text()}`));

    // The redirect URI: answer it in the browser, nobody listens there.
    let landed;
    await page.route((u) => u.href.startsWith(SPA_REDIRECT_URI), (route) => {
      landed = route.request().url();
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'the SPA would take the code from here' });
    });

    await page.goto(authURL.href);
    await assertTitle(page, 'Sign in · Latchkey');
    await page.getByLabel('Username').waitFor();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'login.png') });
    await page.getByLabel('Username').fill(SPA_USERNAME);
    await page.getByLabel('Password').fill(SPA_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('button', { name: 'Allow' }).waitFor();
    await assertTitle(page, 'Allow access · Latchkey');
    if (SPA_RESOURCE) {
      // The consent page names the resource the token would be for.
      await page.getByText(SPA_RESOURCE, { exact: true }).waitFor();
    }
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'consent.png') });
    const callback = page.waitForRequest((r) => r.url().startsWith(SPA_REDIRECT_URI), { timeout: 5_000 });
    callback.catch(() => {}); // awaited below
    await page.getByRole('button', { name: 'Allow' }).click();

    // Chromium must follow the 303 to the redirect URI. Its CSP
    // form-action applies to a form POST's redirects too, so the consent
    // page must allow the client's redirect URI (web.SignInCSP).
    let url;
    try {
      url = new URL((await callback).url());
    } catch (err) {
      throw new Error(`${err.message}; the browser console said:\n${consoleLog.join('\n')}`);
    }
    await t.test('lands on the redirect URI with a code the client redeems', async () => {
      assert.ok(url, 'the browser reached the redirect URI');
      if (landed) assert.equal(landed, url.href);
      assert.equal(`${url.origin}${url.pathname}`, SPA_REDIRECT_URI);
      assert.equal(url.searchParams.get('state'), state);
      assert.ok(url.searchParams.get('code'), `a code in ${url}`);
      // The code the browser carried is one the client can redeem.
      const tokens = await client.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
      });
      assert.equal(tokens.claims().aud, SPA_CLIENT_ID);
      if (SPA_RESOURCE) {
        const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString());
        assert.deepEqual([claims.aud].flat(), [SPA_RESOURCE], "the access token's aud is the resource");
      }
    });
  } finally {
    await browser.close();
  }
});

async function assertTitle(page, want) {
  await page.waitForLoadState('domcontentloaded');
  assert.equal(await page.title(), want);
}

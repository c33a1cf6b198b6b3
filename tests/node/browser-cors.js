// Real headless Chromium (playwright-core) and CORS. A single-page app
// served from APP_ORIGIN (an origin its client lists in allowed_origins)
// runs the authorization code flow with PKCE itself: the test clicks
// through the login page, the redirect lands back on the app, and the
// app's script calls the token endpoint and /userinfo with fetch and
// reads both the tokens and a later error. The same page served from
// OTHER_ORIGIN (listed by no client) is refused by the browser's CORS
// check: its fetches reject, though discovery (Allow-Origin: *) stays
// readable. TestBrowserCORS (internal/server) serves both origins and sets
// ISSUER, APP_ORIGIN, OTHER_ORIGIN, SPA_CLIENT_ID, SPA_USERNAME,
// SPA_PASSWORD and CHROMIUM. Not a *.test.js file: plain `node --test`
// leaves it out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const { ISSUER, APP_ORIGIN, OTHER_ORIGIN, SPA_CLIENT_ID, SPA_USERNAME, SPA_PASSWORD } = process.env;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

async function result(page) {
  const el = page.locator('#result[data-done="1"]');
  await el.waitFor({ timeout: 10_000 });
  return JSON.parse(await el.textContent());
}

test('a browser app calls the token endpoint from its allowed origin, and another origin is blocked', { timeout: 60_000 }, async (t) => {
  assert.ok(ISSUER && APP_ORIGIN && OTHER_ORIGIN && SPA_CLIENT_ID && SPA_USERNAME && SPA_PASSWORD,
    'set ISSUER, APP_ORIGIN, OTHER_ORIGIN, SPA_CLIENT_ID, SPA_USERNAME and SPA_PASSWORD');
  assert.notEqual(new URL(APP_ORIGIN).origin, new URL(ISSUER).origin);
  assert.notEqual(new URL(OTHER_ORIGIN).origin, new URL(APP_ORIGIN).origin);
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, timeout: 20_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run'],
  });
  try {
    const context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const consoleLog = [];
    page.on('console', (m) => consoleLog.push(`${m.type()}: ${m.text()}`));
    // Which of the server's answers carried CORS headers, as the browser saw them.
    const seen = [];
    page.on('response', (r) => {
      if (r.url().startsWith(ISSUER)) seen.push({ url: r.url(), method: r.request().method(), status: r.status(), acao: r.headers()['access-control-allow-origin'] });
    });

    await page.goto(`${APP_ORIGIN}/`);
    await page.getByLabel('Username').waitFor();
    await page.getByLabel('Username').fill(SPA_USERNAME);
    await page.getByLabel('Password').fill(SPA_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();

    let app;
    try {
      await page.waitForURL((u) => u.href.startsWith(`${APP_ORIGIN}/cb?`));
      app = await result(page);
    } catch (err) {
      throw new Error(`${err.message}; the browser console said:\n${consoleLog.join('\n')}`);
    }

    await t.test('the allowed origin gets the tokens', () => {
      assert.equal(app.token?.status, 200, JSON.stringify(app));
      assert.ok(app.token.body.access_token);
      assert.ok(app.token.body.id_token);
      assert.equal(app.token.body.token_type, 'Bearer');
    });
    await t.test('a preflighted call (Authorization header) to /userinfo succeeds', () => {
      assert.equal(app.userinfo?.status, 200, JSON.stringify(app));
      assert.equal(app.userinfo.body.preferred_username, SPA_USERNAME);
      // Chromium answers no page event for its preflights; the Go test
      // checks the server log for the OPTIONS.
      assert.ok(seen.some((r) => r.url.startsWith(`${ISSUER}/userinfo`) && r.acao === APP_ORIGIN), JSON.stringify(seen));
    });
    await t.test('the app can read an error: the code a second time is invalid_grant', () => {
      assert.equal(app.again?.status, 400, JSON.stringify(app));
      assert.equal(app.again.body.error, 'invalid_grant');
    });
    await t.test('the authorization endpoint and the login page sent no CORS headers', () => {
      const pages = seen.filter((r) => r.url.startsWith(`${ISSUER}/oauth2/authorize`));
      assert.ok(pages.length > 0);
      for (const r of pages) assert.equal(r.acao, undefined, JSON.stringify(r));
    });

    await page.goto(`${OTHER_ORIGIN}/?probe=1`);
    const other = await result(page);
    await t.test('another origin is blocked by the browser', () => {
      assert.ok(other.token?.blocked, `token endpoint answer was readable: ${JSON.stringify(other)}`);
      assert.match(other.token.blocked, /TypeError/);
      assert.ok(other.userinfo?.blocked, `userinfo answer was readable: ${JSON.stringify(other)}`);
    });
    await t.test('discovery stays readable from any origin', () => {
      assert.equal(other.discovery?.status, 200, JSON.stringify(other));
      assert.equal(other.discovery.body.issuer, ISSUER);
    });
  } finally {
    await browser.close();
  }
});

// A minimal browser for the Node client tests: one cookie jar, no
// redirects followed, and the sign-in pages' POST forms submitted as a
// browser would (hidden inputs, the CSRF token among them, plus the
// fields given). Not a *.test.js file: `node --test` does not run it.
import assert from 'node:assert/strict';

export class Browser {
  cookies = new Map();
  async fetch(url, init = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
    return res;
  }
  async submit(pageUrl, html, fields) {
    const form = html.match(/<form method="post" action="([^"]*)">([\s\S]*?)<\/form>/);
    assert.ok(form, `no POST form in:\n${html.slice(0, 500)}`);
    const body = new URLSearchParams();
    for (const [, attrs] of form[2].matchAll(/<input ([^>]*)>/g)) {
      if (!/type="hidden"/.test(attrs)) continue;
      body.set(unescape(attrs.match(/name="([^"]*)"/)[1]), unescape(attrs.match(/value="([^"]*)"/)?.[1] ?? ''));
    }
    assert.ok(body.get('csrf_token'), 'the form carries a CSRF token');
    for (const [k, v] of Object.entries(fields)) body.set(k, v);
    return this.fetch(new URL(unescape(form[1]), pageUrl), {
      method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }
}

export function unescape(s) {
  return s.replace(/&#(\d+);|&#x([0-9a-f]+);|&(amp|lt|gt|quot|apos);/gi, (_, d, h, n) =>
    d ? String.fromCodePoint(+d) : h ? String.fromCodePoint(parseInt(h, 16))
      : { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[n.toLowerCase()]);
}

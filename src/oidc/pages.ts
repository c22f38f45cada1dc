/** The few server-rendered pages of the OpenID Connect flows (logout, errors), safe by construction. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

interface Text {
  title: string;
  /** Trusted markup: literals of this module, escaped values, and the library's own form. */
  body: string;
}

/** Japanese for browsers that prefer it, English otherwise. */
export function page(acceptLanguage: string, texts: { en: Text; ja: Text }): string {
  const lang = /^\s*ja\b/i.test(acceptLanguage) ? 'ja' : 'en';
  const t = texts[lang];
  return `<!DOCTYPE html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(t.title)} — Mamori</title><link rel="stylesheet" href="/console/app.css"></head><body><main class="card oidc-page">${t.body}</main></body></html>`;
}

/** Minimal HTML pages for people who click links in emails and browsers. */
const escape = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escape(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}button{font-size:1rem;padding:.5rem 1rem}</style></head><body><h1>${escape(title)}</h1>${body}</body></html>`;
}

export const confirmedPage = (topic: string, alreadyConfirmed = false) =>
  alreadyConfirmed
    ? page(
        'Already confirmed',
        `<p>This subscription to <strong>${escape(topic)}</strong> was confirmed already; nothing changed.</p>`,
      )
    : page('Subscription confirmed', `<p>You are now subscribed to <strong>${escape(topic)}</strong>.</p>`);

export const unsubscribeFormPage = (topic: string, endpoint: string, action: string) =>
  page(
    'Unsubscribe',
    `<p>Stop sending <strong>${escape(topic)}</strong> notifications to <strong>${escape(endpoint)}</strong>?</p><form method="post" action="${escape(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
  );

export const unsubscribedPage = (topic: string) =>
  page('Unsubscribed', `<p>You will no longer receive <strong>${escape(topic)}</strong> notifications.</p>`);

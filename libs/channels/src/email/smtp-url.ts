/** SMTP_URL with the password replaced by `***` (and no query string), for logs. */
export function redactSmtpUrl(smtpUrl: string): string {
  try {
    const url = new URL(smtpUrl);
    if (url.password) url.password = '***';
    url.search = '';
    url.hash = '';
    return url.toString();
  } catch {
    return '(invalid SMTP_URL)';
  }
}

/** The secret strings SMTP_URL carries (the password, raw and decoded), to scrub from error texts. */
export function smtpUrlSecrets(smtpUrl: string): string[] {
  try {
    const url = new URL(smtpUrl);
    if (!url.password) return [];
    const secrets = new Set([url.password]);
    try {
      secrets.add(decodeURIComponent(url.password));
    } catch {
      // a malformed escape: the raw form is all there is
    }
    return [...secrets].filter((s) => s.length > 0);
  } catch {
    return [];
  }
}

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** A new Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** Why a secret a subscriber chose is not one Herald accepts; null when it is. */
export function checkSigningSecret(secret: string): string | null {
  const raw = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : null;
  const invalid = 'must be "whsec_" followed by the base64 of 24 to 64 random bytes';
  if (raw === null || raw.length > 100 || !/^[A-Za-z0-9+/]+={0,2}$/.test(raw) || raw.length % 4 !== 0) {
    return invalid;
  }
  const bytes = Buffer.from(raw, 'base64');
  return bytes.length >= 24 && bytes.length <= 64 && bytes.toString('base64') === raw ? null : invalid;
}

function secretKey(secret: string): Buffer {
  const raw = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(raw, 'base64');
}

/** `v1,<base64 HMAC-SHA256(id.timestamp.body)>` as Standard Webhooks defines it. */
export function signPayload(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret))
    .update(`${id}.${timestampSeconds}.${body}`)
    .digest('base64');
  return `v1,${mac}`;
}

/** The `webhook-signature` header value: one signature per active secret, space separated. */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
): string {
  return secrets.map((s) => signPayload(s, id, timestampSeconds, body)).join(' ');
}

/** Checks a `webhook-signature` header against one secret (used by Herald's own tests and tools). */
export function verifySignature(
  secret: string,
  header: string,
  id: string,
  timestampSeconds: number,
  body: string,
): boolean {
  const expected = Buffer.from(signPayload(secret, id, timestampSeconds, body));
  return header.split(' ').some((candidate) => {
    const got = Buffer.from(candidate);
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

/** A URL-safe random token (confirmation and unsubscribe links, API keys). */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

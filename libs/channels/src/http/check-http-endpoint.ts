import type { EndpointCheck } from '../channel-adapter';
import type { OutboundHttp } from './outbound-http';

export const MAX_URL_LENGTH = 2048;

/**
 * Webhook and function URLs: absolute http(s), no credentials (they would be stored and shown in
 * plain text; receivers authenticate Herald by its signature instead), at most 2048 characters.
 * Normalised the WHATWG way, so `http://2130706433/` is stored as `http://127.0.0.1/`.
 */
export function checkHttpEndpoint(endpoint: string): EndpointCheck {
  if (endpoint.length > MAX_URL_LENGTH) {
    return { ok: false, message: `must be at most ${MAX_URL_LENGTH} characters` };
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { ok: false, message: 'must be an absolute http:// or https:// URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, message: 'must be an absolute http:// or https:// URL' };
  }
  if (url.username !== '' || url.password !== '') {
    return {
      ok: false,
      message: 'must not contain credentials (user:password@); receivers verify the signature instead',
    };
  }
  const normalised = url.toString();
  if (normalised.length > MAX_URL_LENGTH) {
    return { ok: false, message: `must be at most ${MAX_URL_LENGTH} characters` };
  }
  return { ok: true, endpoint: normalised };
}

/**
 * checkHttpEndpoint, and at subscription time also an IP literal the SSRF guard denies: refused at once
 * (naming OUTBOUND_ALLOW_CIDRS) rather than accepted and never delivered to.
 */
export function checkReachableHttpEndpoint(http: OutboundHttp, endpoint: string): EndpointCheck {
  const check = checkHttpEndpoint(endpoint);
  if (!check.ok) return check;
  const denied = http.deniedLiteral(check.endpoint);
  return denied ? { ok: false, message: denied } : check;
}

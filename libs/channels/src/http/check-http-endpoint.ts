import type { EndpointCheck } from '../channel-adapter';

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

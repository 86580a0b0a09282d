import { domainToASCII } from 'node:url';
import type { EndpointCheck } from '../channel-adapter';

// RFC 5322 dot-atom; quoted local parts are legal but so rare in subscriptions that accepting them only
// widens the attack surface of every header and envelope the address lands in.
const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-";
const LOCAL_PART = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`);
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const EXAMPLE = 'must be one email address such as name@example.com';

/**
 * Checks that `value` is one plain email address (no display name, no list) and normalises it: trimmed,
 * domain lower-cased and, when internationalised, in its ASCII (punycode) form so equal addresses compare equal.
 */
export function checkEmailAddress(value: unknown): EndpointCheck {
  if (typeof value !== 'string') return { ok: false, message: EXAMPLE };
  const trimmed = value.trim();
  if (trimmed === '') return { ok: false, message: EXAMPLE };
  // eslint-disable-next-line no-control-regex
  if (/[\s,;<>()"\\[\]:\u0000-\u001f\u007f]/.test(trimmed)) {
    return { ok: false, message: `${EXAMPLE}, without a display name, spaces or separators` };
  }
  const at = trimmed.split('@');
  if (at.length !== 2) return { ok: false, message: `${EXAMPLE} (exactly one "@")` };
  const [local, rawDomain] = at;
  if (local.length === 0) return { ok: false, message: `${EXAMPLE}: the part before "@" is empty` };
  if (local.length > 64) return { ok: false, message: 'the part before "@" must be at most 64 characters' };
  if (!LOCAL_PART.test(local)) {
    return {
      ok: false,
      message: 'the part before "@" has a character or dot placement email addresses do not allow',
    };
  }
  const domain = asciiDomain(rawDomain);
  if (domain === null) return { ok: false, message: `"${rawDomain}" is not a valid mail domain` };
  const address = `${local}@${domain}`;
  if (address.length > 254) return { ok: false, message: 'an email address must be at most 254 characters' };
  return { ok: true, endpoint: address };
}

function asciiDomain(raw: string): string | null {
  if (raw.length === 0 || raw.length > 253) return null;
  // eslint-disable-next-line no-control-regex
  const ascii = /^[\u0000-\u007f]*$/.test(raw) ? raw.toLowerCase() : domainToASCII(raw);
  if (ascii === '' || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (labels.length < 2) return null;
  if (!labels.every((label) => LABEL.test(label))) return null;
  // A numeric top-level label means an IP address, which a subscription should not address mail to.
  if (/^\d+$/.test(labels[labels.length - 1])) return null;
  return ascii;
}

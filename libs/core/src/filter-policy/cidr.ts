/** An IPv4 or IPv6 network, parsed once when a policy is compiled. */
export type Cidr =
  | { readonly family: 4; readonly base: number; readonly mask: number }
  | { readonly family: 6; readonly base: readonly number[]; readonly mask: readonly number[] };

const DECIMAL_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** A dotted-quad IPv4 address as an unsigned 32-bit number, or undefined. Leading zeros are refused. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!DECIMAL_OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** An IPv6 address as four unsigned 32-bit words, or undefined. Zone ids (`%eth0`) are refused. */
export function parseIPv6(text: string): number[] | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = groups(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1], true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 2 ? total > 7 : total !== 8) return undefined;
  const all = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  return [0, 1, 2, 3].map((i) => (all[2 * i] * 0x10000 + all[2 * i + 1]) >>> 0);
}

/** The 16-bit groups of one side of `::`; an embedded IPv4 address may close the address (`last`). */
function groups(side: string, last: boolean): number[] | undefined {
  if (side === '') return [];
  const parts = side.split(':');
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (last && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIPv4(part);
      if (v4 === undefined) return undefined;
      out.push(Math.floor(v4 / 0x10000), v4 % 0x10000);
    } else if (HEX_GROUP.test(part)) {
      out.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return out;
}

/** `10.0.0.0/24` or `2001:db8::/32`; host bits are masked off. Undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0 || slash !== text.lastIndexOf('/')) return undefined;
  const address = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  if (!/^(?:0|[1-9][0-9]{0,2})$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  const v4 = parseIPv4(address);
  if (v4 !== undefined) {
    if (bits > 32) return undefined;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return { family: 4, base: (v4 & mask) >>> 0, mask };
  }
  const v6 = parseIPv6(address);
  if (v6 === undefined || bits > 128) return undefined;
  const mask = [0, 1, 2, 3].map((i) => {
    const wordBits = Math.min(32, Math.max(0, bits - 32 * i));
    return wordBits === 0 ? 0 : (0xffffffff << (32 - wordBits)) >>> 0;
  });
  return { family: 6, base: v6.map((w, i) => (w & mask[i]) >>> 0), mask };
}

/** Whether `address` (a string from a message) lies in `cidr`; addresses of the other family never do. */
export function cidrContains(cidr: Cidr, address: string): boolean {
  if (cidr.family === 4) {
    const ip = parseIPv4(address);
    return ip !== undefined && (ip & cidr.mask) >>> 0 === cidr.base;
  }
  const ip = parseIPv6(address);
  if (ip === undefined) return false;
  for (let i = 0; i < 4; i++) if ((ip[i] & cidr.mask[i]) >>> 0 !== cidr.base[i]) return false;
  return true;
}

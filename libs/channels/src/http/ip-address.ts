import { isIPv4, isIPv6 } from 'node:net';

/** An IPv4 address carried inside an IPv6 one, and how it is carried. */
export interface EmbeddedIpv4 {
  kind: 'IPv4-mapped' | 'NAT64' | '6to4';
  ipv4: string;
}

/** The 16 bytes of an IPv6 address (zone id ignored), or null when it is not one. */
export function ipv6Bytes(address: string): Uint8Array | null {
  const withoutZone = address.split('%')[0] ?? '';
  if (!isIPv6(withoutZone)) return null;
  let text = withoutZone;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (isIPv4(tail)) {
    // A trailing dotted quad is two hex groups written differently.
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (part: string | undefined): string[] => (part ? part.split(':') : []);
  const left = groups(head);
  const right = groups(rest);
  const all =
    rest === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  });
  return bytes;
}

const NAT64_PREFIX = [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];
const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/**
 * The IPv4 address an IPv6 address stands for when the network would deliver it to that IPv4 host:
 * IPv4-mapped (::ffff:0:0/96), well-known NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
 */
export function embeddedIpv4(address: string): EmbeddedIpv4 | null {
  const b = ipv6Bytes(address);
  if (!b) return null;
  const v4 = (offset: number) => `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
  const startsWith = (prefix: number[]) => prefix.every((byte, i) => b[i] === byte);
  if (startsWith(MAPPED_PREFIX)) return { kind: 'IPv4-mapped', ipv4: v4(12) };
  if (startsWith(NAT64_PREFIX)) return { kind: 'NAT64', ipv4: v4(12) };
  if (b[0] === 0x20 && b[1] === 0x02) return { kind: '6to4', ipv4: v4(2) };
  return null;
}

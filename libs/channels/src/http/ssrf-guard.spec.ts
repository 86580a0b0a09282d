import { describe, expect, it } from 'vitest';
import { DestinationDeniedError } from './destination-denied.error';
import { embeddedIpv4, ipv6Bytes } from './ip-address';
import { SsrfGuard } from './ssrf-guard';

describe('SsrfGuard.check without an allow-list', () => {
  const guard = new SsrfGuard();

  it.each([
    ['127.0.0.1', 'loopback address'],
    ['127.255.255.254', 'loopback address'],
    ['::1', 'loopback address'],
    ['0.0.0.0', 'unspecified address'],
    ['::', 'unspecified address'],
    ['0.1.2.3', '"this network" address'],
    ['10.0.0.1', 'private address'],
    ['172.16.0.1', 'private address'],
    ['172.31.255.255', 'private address'],
    ['192.168.1.1', 'private address'],
    ['fd12:3456::1', 'private address'],
    ['fc00::1', 'private address'],
    ['169.254.169.254', 'cloud metadata address'],
    ['fd00:ec2::254', 'cloud metadata address'],
    ['169.254.1.1', 'link-local address'],
    ['fe80::1', 'link-local address'],
    ['fe80::1%eth0', 'link-local address'],
    ['100.64.0.1', 'shared address space (CGNAT)'],
    ['100.127.255.255', 'shared address space (CGNAT)'],
    ['192.0.0.8', 'IETF protocol assignment'],
    ['2001:2::1', 'IETF protocol assignment'],
    ['198.18.0.1', 'benchmarking address'],
    ['198.19.255.255', 'benchmarking address'],
    ['192.0.2.10', 'documentation address'],
    ['198.51.100.7', 'documentation address'],
    ['203.0.113.9', 'documentation address'],
    ['2001:db8::1', 'documentation address'],
    ['224.0.0.1', 'multicast address'],
    ['239.255.255.250', 'multicast address'],
    ['ff02::1', 'multicast address'],
    ['255.255.255.255', 'broadcast address'],
    ['240.0.0.1', 'reserved address'],
    ['fec0::1', 'reserved address'],
    ['::127.0.0.1', 'reserved address'],
    ['::ffff:127.0.0.1', 'IPv4-mapped form of loopback address'],
    ['::ffff:7f00:1', 'IPv4-mapped form of loopback address'],
    ['::ffff:169.254.169.254', 'IPv4-mapped form of cloud metadata address'],
    ['::ffff:10.1.2.3', 'IPv4-mapped form of private address'],
    ['64:ff9b::127.0.0.1', 'NAT64 form of loopback address'],
    ['64:ff9b::a00:1', 'NAT64 form of private address'],
    ['64:ff9b:1::1', 'reserved address'],
    ['2002:7f00:1::1', '6to4 form of loopback address'],
    ['2002:c0a8:101::', '6to4 form of private address'],
    ['not-an-ip', 'not an IP address'],
  ])('denies %s (%s)', (address, reason) => {
    expect(guard.check(address)).toEqual({ allowed: false, reason });
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '11.0.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('allows the public address %s', (address) => {
    expect(guard.check(address)).toEqual({ allowed: true });
  });

  it('throws DestinationDeniedError naming the address and the reason, never more', () => {
    const attempt = () => guard.assertAllowed('127.0.0.1', 'localhost');
    expect(attempt).toThrow(DestinationDeniedError);
    expect(attempt).toThrow('destination localhost (127.0.0.1) is not allowed (loopback address)');
  });
});

describe('SsrfGuard.check with OUTBOUND_ALLOW_CIDRS', () => {
  const guard = new SsrfGuard(['127.0.0.0/8', '::1/128', '10.1.0.0/16', 'fd00::/8']);

  it.each(['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', '64:ff9b::7f00:1', '10.1.2.3', 'fd00::5'])(
    'allows %s inside an allowed range',
    (address) => {
      expect(guard.check(address)).toEqual({ allowed: true });
    },
  );

  it.each([
    ['10.2.0.1', 'private address'],
    ['192.168.0.1', 'private address'],
    ['169.254.169.254', 'cloud metadata address'],
    ['fc00::1', 'private address'],
  ])('still denies %s outside the allowed ranges', (address, reason) => {
    expect(guard.check(address)).toEqual({ allowed: false, reason });
  });

  it('refuses an allow-list entry that is not a CIDR range', () => {
    expect(() => new SsrfGuard(['localhost/8'])).toThrow('is not a CIDR range');
  });
});

describe('ipv6Bytes and embeddedIpv4', () => {
  it('expands compressed and dotted forms', () => {
    expect(Array.from(ipv6Bytes('::ffff:1.2.3.4')!)).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4,
    ]);
    expect(Array.from(ipv6Bytes('2001:db8::1')!)).toEqual([
      32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ]);
    expect(Array.from(ipv6Bytes('1:2:3:4:5:6:7:8')!)).toEqual([
      0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8,
    ]);
    expect(ipv6Bytes('127.0.0.1')).toBeNull();
  });

  it.each([
    ['::ffff:c0a8:101', { kind: 'IPv4-mapped', ipv4: '192.168.1.1' }],
    ['64:ff9b::c0a8:101', { kind: 'NAT64', ipv4: '192.168.1.1' }],
    ['2002:c0a8:101:5::1', { kind: '6to4', ipv4: '192.168.1.1' }],
    ['2001:db8::1', null],
    ['::1', null],
  ])('finds the IPv4 address inside %s', (address, expected) => {
    expect(embeddedIpv4(address)).toEqual(expected);
  });
});

import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type Socket } from 'node:net';
import { buildConnector, errors } from 'undici';
import { DestinationDeniedError } from './destination-denied.error';
import { embeddedIpv4 } from './ip-address';

/** Resolves a host name to every address it has (dns.lookup with `all: true` by default). */
export type LookupAll = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

/**
 * Denied unless OUTBOUND_ALLOW_CIDRS says otherwise. The first matching label names the reason, so
 * narrower ranges come before the wider ones that contain them.
 */
const DENIED: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['unspecified address', ['0.0.0.0/32', '::/128']],
  ['cloud metadata address', ['169.254.169.254/32', 'fd00:ec2::254/128']],
  ['loopback address', ['127.0.0.0/8', '::1/128']],
  ['broadcast address', ['255.255.255.255/32']],
  ['"this network" address', ['0.0.0.0/8']],
  ['private address', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']],
  ['link-local address', ['169.254.0.0/16', 'fe80::/10']],
  ['shared address space (CGNAT)', ['100.64.0.0/10']],
  [
    'documentation address',
    ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32', '3fff::/20'],
  ],
  ['benchmarking address', ['198.18.0.0/15']],
  ['IETF protocol assignment', ['192.0.0.0/24', '2001::/23']],
  ['multicast address', ['224.0.0.0/4', 'ff00::/8']],
  [
    'reserved address',
    // 240/4 (future use), the 6to4 relay anycast, IPv4-compatible and SIIT forms, discard-only,
    // site-local and local-use NAT64: none of them is a legitimate receiver.
    ['240.0.0.0/4', '192.88.99.0/24', '::/96', '::ffff:0:0:0/96', '100::/64', 'fec0::/10', '64:ff9b:1::/48'],
  ],
];

function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network = '', bits = ''] = cidr.split('/');
    const family = isIP(network);
    if (!family) throw new Error(`"${cidr}" is not a CIDR range`);
    list.addSubnet(network, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

const DENIED_LISTS = DENIED.map(([reason, cidrs]) => ({ reason, list: blockListOf(cidrs) }));

/**
 * Decides which addresses outbound HTTP may reach, and builds the undici connector that enforces it
 * on the resolved address at connect time (a DNS answer can change between check and connect, and
 * IP literals never go through DNS, so checking URLs or a lookup hook alone would not hold).
 */
export class SsrfGuard {
  private readonly allow: BlockList;

  constructor(allowCidrs: readonly string[] = []) {
    this.allow = blockListOf(allowCidrs);
  }

  check(address: string): AddressVerdict {
    const ip = address.split('%')[0] ?? '';
    const family = isIP(ip);
    if (!family) return { allowed: false, reason: 'not an IP address' };
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (this.allow.check(ip, type)) return { allowed: true };
    if (family === 6) {
      const embedded = embeddedIpv4(ip);
      if (embedded) {
        const verdict = this.check(embedded.ipv4);
        return verdict.allowed
          ? verdict
          : { allowed: false, reason: `${embedded.kind} form of ${verdict.reason}` };
      }
    }
    for (const { reason, list } of DENIED_LISTS) {
      if (list.check(ip, type)) return { allowed: false, reason };
    }
    return { allowed: true };
  }

  /** Throws DestinationDeniedError when the address is not allowed. */
  assertAllowed(address: string, hostname?: string): void {
    const verdict = this.check(address);
    if (!verdict.allowed) throw new DestinationDeniedError(address, verdict.reason, hostname);
  }

  /**
   * An undici `connect` function: rejects denied IP literals, resolves names to all their addresses,
   * drops the denied ones, connects to the first survivor that answers within `timeoutMs` (DNS
   * included), and checks the socket's remote address once connected.
   */
  connector(options: { timeoutMs: number; lookup?: LookupAll }): buildConnector.connector {
    const { timeoutMs } = options;
    const lookup: LookupAll = options.lookup ?? ((hostname) => dnsLookup(hostname, { all: true }));
    // undici's connector returns the socket although its type says void; we need it to abort on our deadline.
    const base = buildConnector({ timeout: timeoutMs }) as unknown as (
      opts: buildConnector.Options,
      callback: buildConnector.Callback,
    ) => Socket;

    return (opts, callback) => {
      const hostname = opts.hostname;
      let settled = false;
      let pending: Socket | null = null;

      const settle = (err: Error | null, socket?: Socket) => {
        if (settled) {
          socket?.destroy();
          return;
        }
        settled = true;
        clearTimeout(timer);
        if (err || !socket) callback(err ?? new Error('connect failed'), null);
        else callback(null, socket);
      };

      const timer = setTimeout(() => {
        pending?.destroy();
        settle(
          new errors.ConnectTimeoutError(
            `Connect Timeout Error (${hostname}:${opts.port}, timeout: ${timeoutMs} ms)`,
          ),
        );
      }, timeoutMs);
      timer.unref();

      const attempt = (addresses: string[], index: number, lastError: Error | null) => {
        const address = addresses[index];
        if (settled) return;
        if (address === undefined) {
          settle(lastError ?? new Error(`no address to connect to for ${hostname}`));
          return;
        }
        pending = base({ ...opts, hostname: address }, (err, socket) => {
          pending = null;
          if (err || !socket) {
            attempt(addresses, index + 1, err ?? lastError);
            return;
          }
          const remote = socket.remoteAddress;
          const verdict = remote ? this.check(remote) : null;
          if (!verdict || !verdict.allowed) {
            socket.destroy();
            settle(
              verdict
                ? new DestinationDeniedError(remote ?? address, verdict.reason, hostname)
                : new Error(`connection to ${hostname} closed before it was established`),
            );
            return;
          }
          settle(null, socket);
        });
      };

      if (isIP(hostname)) {
        const verdict = this.check(hostname);
        if (!verdict.allowed) {
          settle(new DestinationDeniedError(hostname, verdict.reason));
          return;
        }
        attempt([hostname], 0, null);
        return;
      }

      lookup(hostname).then(
        (answers) => {
          const allowed = answers.filter((a) => this.check(a.address).allowed);
          const first = answers[0];
          if (allowed.length === 0 && first) {
            const verdict = this.check(first.address);
            settle(
              new DestinationDeniedError(
                first.address,
                verdict.allowed ? 'no allowed address' : verdict.reason,
                hostname,
              ),
            );
            return;
          }
          attempt(
            allowed.map((a) => a.address),
            0,
            null,
          );
        },
        (err: unknown) => settle(err instanceof Error ? err : new Error(String(err))),
      );
    };
  }
}

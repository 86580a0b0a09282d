import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errors } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebhookReceiver } from '../../../../test/support/webhook-receiver';
import { DestinationDeniedError } from './destination-denied.error';
import { SsrfGuard } from './ssrf-guard';
import {
  createOutboundHttp,
  deniedLiteral,
  MAX_RESPONSE_BODY_BYTES,
  USER_AGENT,
  type OutboundHttp,
  type OutboundHttpConfig,
} from './outbound-http';

const config = (overrides: Partial<OutboundHttpConfig> = {}): OutboundHttpConfig => ({
  connectTimeoutMs: 2_000,
  headersTimeoutMs: 5_000,
  bodyTimeoutMs: 5_000,
  connectionsPerOrigin: 4,
  allowCidrs: [],
  ...overrides,
});

describe('createOutboundHttp', () => {
  const receiver = new WebhookReceiver();
  const clients: OutboundHttp[] = [];
  const client = (c: OutboundHttpConfig, lookup?: Parameters<typeof createOutboundHttp>[1]) => {
    const http = createOutboundHttp(c, lookup);
    clients.push(http);
    return http;
  };

  beforeAll(async () => {
    await receiver.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await receiver.stop();
  });

  it('POSTs the body with the given headers and its own user-agent, and reports the status', async () => {
    const http = client(config({ allowCidrs: ['127.0.0.0/8'] }));
    receiver.reply({ status: 201, headers: { 'x-answer': 'yes' }, body: 'created' });
    const response = await http.post(
      receiver.urlFor('127.0.0.1', '/hook?a=1'),
      { 'content-type': 'application/json', 'x-one': '1' },
      '{"a":1}',
    );
    const request = await receiver.next();
    expect(response.statusCode).toBe(201);
    expect(response.headers['x-answer']).toBe('yes');
    expect(response.durationMs).toBeGreaterThanOrEqual(0);
    expect(request).toMatchObject({ method: 'POST', path: '/hook?a=1', body: '{"a":1}' });
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      'x-one': '1',
      'user-agent': USER_AGENT,
    });
  });

  it('rejects a denied address with DestinationDeniedError before any connection is made', async () => {
    const http = client(config());
    const before = receiver.connections;
    const attempt = http.post(receiver.url, {}, 'x');
    await expect(attempt).rejects.toBeInstanceOf(DestinationDeniedError);
    await expect(attempt).rejects.toThrow('destination 127.0.0.1 is not allowed (loopback address)');
    expect(receiver.connections).toBe(before);
  });

  it('drops denied addresses from a DNS answer and connects to an allowed one', async () => {
    const http = client(config({ allowCidrs: ['127.0.0.0/8'] }), {
      lookup: async () => [
        { address: '10.0.0.1', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    });
    const count = receiver.requests.length;
    const response = await http.post(receiver.urlFor('receiver.test'), {}, 'via-dns');
    expect(response.statusCode).toBe(200);
    const [request] = (await receiver.waitFor(count + 1)).slice(count);
    expect(request.body).toBe('via-dns');
    expect(request.headers.host).toBe(`receiver.test:${receiver.port}`);
  });

  it('names the host and the address when every address it resolves to is denied', async () => {
    const http = client(config(), {
      lookup: async () => [{ address: '169.254.169.254', family: 4 }],
    });
    await expect(http.post('http://metadata.test/latest', {}, '')).rejects.toThrow(
      'destination metadata.test (169.254.169.254) is not allowed (cloud metadata address)',
    );
  });

  it('passes a DNS failure through as the network error it is', async () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.test'), { code: 'ENOTFOUND' });
    const http = client(config(), { lookup: () => Promise.reject(notFound) });
    await expect(http.post('http://nowhere.test/', {}, '')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('gives up on a DNS lookup that never answers after the connect timeout', async () => {
    const http = client(config({ connectTimeoutMs: 100 }), { lookup: () => new Promise(() => undefined) });
    await expect(http.post('http://slow-dns.test/', {}, '')).rejects.toBeInstanceOf(
      errors.ConnectTimeoutError,
    );
  });

  it('does not follow redirects', async () => {
    const http = client(config({ allowCidrs: ['127.0.0.0/8'] }));
    const count = receiver.requests.length;
    receiver.reply({ status: 302, headers: { location: receiver.urlFor('127.0.0.1', '/elsewhere') } });
    const response = await http.post(receiver.url, {}, 'once');
    expect(response.statusCode).toBe(302);
    expect(receiver.requests.length).toBe(count + 1);
  });

  describe('with a receiver that answers a huge body', () => {
    let server: Server;
    let port = 0;
    let bytesWritten = 0;
    let responseClosed: Promise<void>;

    beforeAll(async () => {
      server = createServer((req, res) => {
        req.resume();
        res.writeHead(500, { 'content-type': 'text/plain' });
        responseClosed = new Promise((resolve) => res.on('close', () => resolve()));
        const chunk = Buffer.alloc(16 * 1024, 'x');
        // Streams without end: only a client that stops reading lets this request finish.
        const pump = () => {
          while (!res.destroyed) {
            bytesWritten += chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
        };
        pump();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    // An endless body: post() resolving at all shows it stopped reading.
    it('reads at most 64 KiB of it and drops the connection', async () => {
      const http = client(config({ allowCidrs: ['127.0.0.0/8'] }));
      const response = await http.post(`http://127.0.0.1:${port}/`, {}, '');
      expect(response.statusCode).toBe(500);
      await responseClosed;
      expect(bytesWritten).toBeGreaterThan(MAX_RESPONSE_BODY_BYTES);
    });
  });
});

describe('deniedLiteral (the subscription-time check)', () => {
  const guard = new SsrfGuard(['127.0.0.0/8']);
  it.each([
    ['http://10.0.0.5/hook', 'private address'],
    ['http://[::1]:8080/', 'loopback address'],
    ['http://[::ffff:a00:1]/', 'private address'],
    ['https://169.254.169.254/latest', 'cloud metadata address'],
  ])('refuses %s as a %s, naming OUTBOUND_ALLOW_CIDRS', (url, reason) => {
    const message = deniedLiteral(guard, url);
    expect(message).toContain(reason);
    expect(message).toContain('OUTBOUND_ALLOW_CIDRS');
  });

  it.each(['http://127.0.0.1:3000/', 'https://example.com/', 'http://localhost/', 'https://93.184.215.14/'])(
    'leaves %s to the connect-time guard',
    (url) => {
      expect(deniedLiteral(guard, url)).toBeNull();
    },
  );
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHerald, type TestHerald } from '../support/herald';
import { WebhookReceiver } from '../support/webhook-receiver';

/** Spellings of the loopback receiver that an SSRF guard checking only the URL's text would miss. */
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]', '[::ffff:127.0.0.1]', '2130706433'];

interface Target {
  protocol: 'webhook' | 'function';
  endpoint: string;
}

const FINAL = ['delivered', 'dead', 'cancelled'];

interface Outcome {
  endpoint: string;
  status: string;
  attempts: Array<{ outcome: string; error?: string | null; statusCode?: number | null }>;
}

/**
 * The SSRF guard through the whole system: subscriptions created through the API, deliveries made
 * by the workers. Private destinations are refused on the resolved address, before any connection,
 * unless OUTBOUND_ALLOW_CIDRS allows their range.
 */
describe('outbound SSRF guard end to end', () => {
  let receiver: WebhookReceiver;
  let topicN = 0;

  beforeAll(async () => {
    // Also on [::1], so that the IPv6 spellings would reach it if the guard let them through.
    receiver = await new WebhookReceiver({ ipv6: true }).start();
  });
  afterAll(async () => {
    await receiver?.stop();
  });

  /** Subscribes every target to a fresh topic, publishes one message, and waits for each delivery to end. */
  async function deliverToAll(herald: TestHerald, targets: Target[]) {
    const topic = `ssrf${++topicN}`;
    expect((await herald.request('POST', '/v1/topics', { name: topic })).status).toBe(201);
    const endpointOf = new Map<string, string>();
    for (const target of targets) {
      const sub = await herald.request('POST', `/v1/topics/${topic}/subscriptions`, {
        ...target,
        skipConfirmation: true,
        deliveryPolicy: { maxAttempts: 3, minDelayMs: 100, maxDelayMs: 200 },
      });
      expect(sub.status, `${target.protocol} ${target.endpoint}: ${sub.text}`).toBe(201);
      expect(sub.body.status).toBe('active');
      endpointOf.set(sub.body.id, target.endpoint);
    }
    const published = await herald.request('POST', `/v1/topics/${topic}/messages`, {
      body: { probe: topic },
    });
    expect(published.status).toBe(202);
    const messageId = published.body.messageId as string;
    const outcomes = await eventually(
      async () => {
        const list = await herald.request('GET', `/v1/messages/${messageId}/deliveries`);
        const items = (list.body?.items ?? []) as Array<{
          id: string;
          subscriptionId: string;
          status: string;
        }>;
        if (items.length !== targets.length) return undefined;
        if (items.some((d) => !FINAL.includes(d.status))) return undefined;
        return Promise.all(
          items.map(async (d): Promise<Outcome> => {
            const detail = await herald.request('GET', `/v1/deliveries/${d.id}`);
            return {
              endpoint: endpointOf.get(d.subscriptionId)!,
              status: d.status,
              attempts: detail.body.attempts,
            };
          }),
        );
      },
      `every delivery of ${messageId} to end`,
      30_000,
    );
    return { topic, messageId, outcomes: outcomes.sort((a, b) => a.endpoint.localeCompare(b.endpoint)) };
  }

  describe('without an allow-list (OUTBOUND_ALLOW_CIDRS empty)', () => {
    let herald: TestHerald;

    beforeAll(async () => {
      herald = await startHerald('sqlite', { OUTBOUND_ALLOW_CIDRS: '' });
    });
    afterAll(async () => {
      await herald?.close();
    });

    it('refuses loopback, IPv6, IPv4-mapped, decimal and metadata literals when subscribing, never connecting', async () => {
      const connectionsBefore = receiver.connections;
      const topic = `ssrf${++topicN}`;
      expect((await herald.request('POST', '/v1/topics', { name: topic })).status).toBe(201);
      const literals: Target[] = [
        ...LOOPBACK_HOSTS.filter((h) => h !== 'localhost').map((host, i) => ({
          protocol: 'webhook' as const,
          endpoint: receiver.urlFor(host, `/w${i}`),
        })),
        { protocol: 'webhook', endpoint: 'http://169.254.169.254/latest/meta-data/' },
        { protocol: 'function', endpoint: `https://127.0.0.1:${receiver.port}/fn` },
      ];
      for (const target of literals) {
        const res = await herald.request('POST', `/v1/topics/${topic}/subscriptions`, {
          ...target,
          skipConfirmation: true,
        });
        expect(res.status, target.endpoint).toBe(400);
        expect(res.body.errors, target.endpoint).toEqual([
          { field: 'endpoint', message: expect.stringMatching(/OUTBOUND_ALLOW_CIDRS/) },
        ]);
      }
      const mapped = await herald.request('POST', `/v1/topics/${topic}/subscriptions`, {
        protocol: 'webhook',
        endpoint: receiver.urlFor('[::ffff:127.0.0.1]', '/m'),
      });
      expect(mapped.body.errors[0].message).toContain('loopback address');
      const metadata = await herald.request('POST', `/v1/topics/${topic}/subscriptions`, {
        protocol: 'webhook',
        endpoint: 'http://169.254.169.254/',
      });
      expect(metadata.body.errors[0].message).toContain('cloud metadata address');
      expect((await herald.request('GET', `/v1/topics/${topic}/subscriptions`)).body.items).toEqual([]);
      expect(receiver.connections).toBe(connectionsBefore);
    });

    it('dead-letters a host name that resolves to loopback after one attempt, never connecting', async () => {
      const connectionsBefore = receiver.connections;
      const requestsBefore = receiver.requests.length;
      // A name passes the subscription-time check: only the resolved address, at connect time, says.
      const targets: Target[] = [
        { protocol: 'webhook', endpoint: receiver.urlFor('localhost', '/name') },
        { protocol: 'function', endpoint: `https://localhost:${receiver.port}/fn` },
      ];
      const { topic, outcomes } = await deliverToAll(herald, targets);
      expect(outcomes).toHaveLength(targets.length);
      for (const o of outcomes) {
        expect(o.status, o.endpoint).toBe('dead');
        expect(o.attempts, o.endpoint).toHaveLength(1);
        expect(o.attempts[0].outcome, o.endpoint).toBe('failed');
        expect(o.attempts[0].error, o.endpoint).toMatch(
          /^destination localhost \(.+\) is not allowed \(loopback address\)$/,
        );
      }
      const dead = await herald.request('GET', `/v1/dead-letters?topic=${topic}`);
      expect(dead.body.items).toHaveLength(targets.length);
      for (const d of dead.body.items) {
        expect(d).toMatchObject({ attempts: 1, lastStatusCode: null });
        expect(d.lastError).toMatch(/is not allowed/);
      }
      // Refused before connecting: the receiver never saw a connection, let alone a request.
      expect(receiver.connections).toBe(connectionsBefore);
      expect(receiver.requests).toHaveLength(requestsBefore);
    });
  });

  describe('with the loopback ranges allowed (127.0.0.0/8, ::1/128)', () => {
    let herald: TestHerald;

    beforeAll(async () => {
      herald = await startHerald('sqlite');
      expect(herald.config.outboundAllowCidrs).toEqual(['127.0.0.0/8', '::1/128']);
    });
    afterAll(async () => {
      await herald?.close();
    });

    it('delivers to every loopback spelling and over HTTP to a function, and still refuses the metadata address', async () => {
      const requestsBefore = receiver.requests.length;
      const targets: Target[] = [
        ...LOOPBACK_HOSTS.map((host, i) => ({
          protocol: 'webhook' as const,
          endpoint: receiver.urlFor(host, `/w${i}`),
        })),
        { protocol: 'function', endpoint: `http://127.0.0.1:${receiver.port}/fn` },
      ];
      const { topic, messageId, outcomes } = await deliverToAll(herald, targets);
      for (const o of outcomes) {
        expect(o.status, o.endpoint).toBe('delivered');
        expect(o.attempts, o.endpoint).toEqual([
          expect.objectContaining({ outcome: 'delivered', statusCode: 200 }),
        ]);
      }
      // The allow-list opens loopback only: the metadata literal is still refused when subscribing.
      const metadata = await herald.request('POST', `/v1/topics/${topic}/subscriptions`, {
        protocol: 'webhook',
        endpoint: 'http://169.254.169.254/latest/meta-data/',
        skipConfirmation: true,
      });
      expect(metadata.status).toBe(400);
      expect(metadata.body.errors[0].message).toMatch(/cloud metadata address.*OUTBOUND_ALLOW_CIDRS/);

      const received = receiver.requests.slice(requestsBefore);
      expect(received.map((r) => r.path).sort()).toEqual(
        [...LOOPBACK_HOSTS.map((_, i) => `/w${i}`), '/fn'].sort(),
      );
      for (const r of received) expect(r.headers['webhook-id']).toBe(messageId);
    });
  });
});

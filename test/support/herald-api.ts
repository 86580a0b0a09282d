import { expect } from 'vitest';
import { eventually, type HeraldClient } from './herald';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field in tests
type Json = any;

/** Creates a topic (201) and returns its name. */
export async function createTopic(herald: HeraldClient, name: string, displayName?: string): Promise<string> {
  const res = await herald.request('POST', '/v1/topics', { name, ...(displayName ? { displayName } : {}) });
  expect(res.status).toBe(201);
  return name;
}

/** Creates a subscription and expects 201; returns the answer's body (with `secret` when there is one). */
export async function subscribe(
  herald: HeraldClient,
  topic: string,
  body: Record<string, unknown>,
  key?: string,
): Promise<Json> {
  const res = await herald.request('POST', `/v1/topics/${topic}/subscriptions`, body, { key });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** Publishes (202) and returns the message id. */
export async function publish(herald: HeraldClient, topic: string, message: Record<string, unknown>) {
  const res = await herald.request('POST', `/v1/topics/${topic}/messages`, message);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.messageId as string;
}

export async function subscriptionStatus(herald: HeraldClient, id: string): Promise<string> {
  const res = await herald.request('GET', `/v1/subscriptions/${id}`);
  expect(res.status).toBe(200);
  return res.body.status as string;
}

/** Waits until the message's delivery to `subscriptionId` (or its only delivery) has `status`; returns it with its attempts. */
export async function deliveryOf(
  herald: HeraldClient,
  messageId: string,
  status: string,
  subscriptionId?: string,
): Promise<Json> {
  return eventually(async () => {
    const list = await herald.request('GET', `/v1/messages/${messageId}/deliveries`);
    const items: Json[] = list.body?.items ?? [];
    const d = subscriptionId ? items.find((i) => i.subscriptionId === subscriptionId) : items[0];
    if (!d || d.status !== status) return undefined;
    const detail = (await herald.request('GET', `/v1/deliveries/${d.id}`)).body;
    return detail.status === status ? detail : undefined;
  }, `delivery of ${messageId} to be ${status}`);
}

/** Waits until the subscription has exactly `n` dead letters and returns them. */
export async function deadLettersOf(herald: HeraldClient, subscriptionId: string, n = 1): Promise<Json[]> {
  return eventually(async () => {
    const list = await herald.request('GET', `/v1/dead-letters?subscriptionId=${subscriptionId}`);
    return list.body?.items?.length === n ? (list.body.items as Json[]) : undefined;
  }, `${n} dead letter(s) of ${subscriptionId}`);
}

/** Waits until the message was fanned out and none of its deliveries is pending; returns its counts. */
export async function settledCounts(herald: HeraldClient, messageId: string): Promise<Json> {
  return eventually(async () => {
    const m = await herald.request('GET', `/v1/messages/${messageId}`);
    const counts = m.body?.counts;
    if (!counts || m.body.status === 'accepted' || counts.pending !== 0) return undefined;
    return counts;
  }, `message ${messageId} to settle`);
}

/**
 * Subscribes `endpoint` and expects a 400 problem naming only `endpoint`, with no subscription created.
 * Returns the answer for further checks.
 */
export async function expectEndpointRefused(
  herald: HeraldClient,
  topic: string,
  protocol: string,
  endpoint: string,
  message: unknown = expect.any(String),
): Promise<{ status: number; body: Json }> {
  const path = `/v1/topics/${topic}/subscriptions`;
  const before = await herald.request('GET', `${path}?limit=1000`);
  const res = await herald.request('POST', path, { protocol, endpoint });
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body.errors).toEqual([{ field: 'endpoint', message }]);
  const after = await herald.request('GET', `${path}?limit=1000`);
  expect(after.body.items).toHaveLength(before.body.items.length);
  return res;
}

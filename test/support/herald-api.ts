import { HeraldApiError, type CreateSubscription, type Publish } from '@herald/client';
import { expect } from 'vitest';
import { eventually, type HeraldEndpoint } from './herald';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field in tests
type Json = any;

// These helpers go through the typed client (@herald/client), so every test that uses them also checks
// the client against the real API: an error answer throws its problem's detail.

/** Creates a topic and returns its name. */
export async function createTopic(
  herald: HeraldEndpoint,
  name: string,
  displayName?: string,
): Promise<string> {
  const topic = await herald.client.topics.create({ name, ...(displayName ? { displayName } : {}) });
  expect(topic.name).toBe(name);
  return name;
}

/** Creates a subscription; returns the answer's body (with `secret` when there is one). */
export async function subscribe(
  herald: HeraldEndpoint,
  topic: string,
  body: Record<string, unknown>,
  key?: string,
): Promise<Json> {
  const client = key ? herald.clientWith(key) : herald.client;
  return client.subscriptions.create(topic, body as unknown as CreateSubscription);
}

/** Publishes and returns the message id. */
export async function publish(herald: HeraldEndpoint, topic: string, message: Record<string, unknown>) {
  const result = await herald.client.messages.publish(topic, message as unknown as Publish);
  return result.messageId;
}

export async function subscriptionStatus(herald: HeraldEndpoint, id: string): Promise<string> {
  return (await herald.client.subscriptions.get(id)).status;
}

/** Waits until the message's delivery to `subscriptionId` (or its only delivery) has `status`; returns it with its attempts. */
export async function deliveryOf(
  herald: HeraldEndpoint,
  messageId: string,
  status: string,
  subscriptionId?: string,
): Promise<Json> {
  return eventually(async () => {
    const { items } = await herald.client.messages.deliveries(messageId);
    const d = subscriptionId ? items.find((i) => i.subscriptionId === subscriptionId) : items[0];
    if (!d || d.status !== status) return undefined;
    const detail = await herald.client.deliveries.get(d.id);
    return detail.status === status ? detail : undefined;
  }, `delivery of ${messageId} to be ${status}`);
}

/** Waits until the subscription has exactly `n` dead letters and returns them. */
export async function deadLettersOf(herald: HeraldEndpoint, subscriptionId: string, n = 1): Promise<Json[]> {
  return eventually(async () => {
    const { items } = await herald.client.deadLetters.list({ subscriptionId });
    return items.length === n ? items : undefined;
  }, `${n} dead letter(s) of ${subscriptionId}`);
}

/** Waits until the message was fanned out and none of its deliveries is pending; returns its counts. */
export async function settledCounts(herald: HeraldEndpoint, messageId: string): Promise<Json> {
  return eventually(async () => {
    const m = await herald.client.messages.get(messageId);
    if (m.status === 'accepted' || m.counts.pending !== 0) return undefined;
    return m.counts;
  }, `message ${messageId} to settle`);
}

/**
 * Subscribes `endpoint` and expects a 400 problem naming only `endpoint`, with no subscription created.
 * Returns the answer for further checks.
 */
export async function expectEndpointRefused(
  herald: HeraldEndpoint,
  topic: string,
  protocol: string,
  endpoint: string,
  message: unknown = expect.any(String),
): Promise<{ status: number; body: Json }> {
  const count = async () => (await herald.client.subscriptions.list(topic, { limit: 1000 })).items.length;
  const before = await count();
  const refused = await herald.client.subscriptions
    .create(topic, { protocol, endpoint } as CreateSubscription)
    .then(
      () => null,
      (err: unknown) => err,
    );
  expect(refused).toBeInstanceOf(HeraldApiError);
  const { status, problem } = refused as HeraldApiError;
  expect(status).toBe(400);
  expect(problem?.errors).toEqual([{ field: 'endpoint', message }]);
  expect(await count()).toBe(before);
  return { status, body: problem };
}

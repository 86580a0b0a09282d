import type { CatalogEvent } from '@herald/catalog';
import { deliveryIdFor, newId, newMessageId, type MessagePayload } from '@herald/core';
import { describe, expect, it } from 'vitest';
import { decodeEvents, encodeEventParts, encodeEvents } from './catalog-event-stream';

function payload(id: string): MessagePayload {
  return {
    id,
    topic: 'orders',
    subject: 'Order "42" shipped',
    body: { orderId: 42, note: 'ä, \u2028 and "quotes"' },
    attributes: { kind: 'order' },
    bodyByProtocol: { sms: 'Order 42 shipped' },
    publishedAt: new Date(Date.UTC(2030, 0, 1)).toISOString(),
  };
}

function messageEvent(id: string): CatalogEvent {
  const subscriptionId = newId('sub');
  return {
    type: 'message',
    message: payload(id),
    matched: 1,
    filteredOut: 0,
    deliveries: [{ subscriptionId, protocol: 'webhook' }],
  };
}

function attempt(messageId: string): CatalogEvent {
  const subscriptionId = newId('sub');
  return {
    type: 'attempt',
    deliveryId: deliveryIdFor(messageId, subscriptionId),
    messageId,
    subscriptionId,
    topic: 'orders',
    protocol: 'webhook',
    run: 1,
    attempt: 1,
    at: new Date(Date.UTC(2030, 0, 1)).toISOString(),
    durationMs: 3,
    outcome: 'delivered',
    statusCode: 200,
    error: null,
  } as CatalogEvent;
}

/** What the commit script does with the parts: every second one names a payload (1 = the first). */
function assemble(parts: string[], payloads: string[]): string {
  return parts.map((part, i) => (i % 2 === 1 ? payloads[Number(part) - 1] : part)).join('');
}

describe('encodeEventParts', () => {
  it('leaves a place for each payload it was given a reference to, and the filled-in text decodes to the events', () => {
    const ids = [newMessageId(), newMessageId(), newMessageId()];
    const events = [messageEvent(ids[0]), attempt(ids[1]), messageEvent(ids[2]), messageEvent(ids[1])];
    const payloads = ids.map((id) => JSON.stringify(payload(id)));
    // The second message is not among the references: it is serialised in the text.
    const refs = new Map([
      [ids[0], '1'],
      [ids[2], '3'],
    ]);
    const parts = encodeEventParts(events, refs);
    expect(parts).toHaveLength(5);
    expect([parts[1], parts[3]]).toEqual(['1', '3']);
    expect(parts.join('')).not.toContain(payloads[0]);
    expect(decodeEvents(assemble(parts, payloads))).toEqual(events);
  });

  it('is one part, the same text encodeEvents gives, without references', () => {
    const id = newMessageId();
    const events = [messageEvent(id), attempt(id)];
    const parts = encodeEventParts(events);
    expect(parts).toEqual([encodeEvents(events)]);
    expect(decodeEvents(parts[0])).toEqual(events);
  });

  it("leaves out an attempt's ids its delivery id already says, and decoding puts them back", () => {
    const id = newMessageId();
    const event = attempt(id);
    const text = encodeEvents([event]);
    expect(text).not.toContain('"messageId"');
    expect(decodeEvents(text)).toEqual([event]);
  });

  it('encodes an empty list as an empty array', () => {
    expect(encodeEventParts([], new Map())).toEqual(['[]']);
  });
});

import { describe, expect, it } from 'vitest';
import type { AttemptEvent, DeadEvent } from './catalog-event';
import { applyAttempt, applyCancelled, applyDead, newDelivery, type DeliveryState } from './delivery-state';

const ID = 'dlv_01JD0000000000000000000000' + '01JD0000000000000000000001';
const identity = {
  id: ID,
  messageId: 'msg_01JD0000000000000000000000',
  subscriptionId: 'sub_01JD0000000000000000000001',
  topic: 't',
  protocol: 'webhook' as const,
};

function attempt(run: number, n: number, outcome: AttemptEvent['outcome'], statusCode = 503): AttemptEvent {
  return {
    type: 'attempt',
    deliveryId: ID,
    messageId: identity.messageId,
    subscriptionId: identity.subscriptionId,
    topic: identity.topic,
    protocol: identity.protocol,
    run,
    attempt: n,
    at: new Date(Date.UTC(2030, 0, 1, 0, run, n)).toISOString(),
    durationMs: 5,
    outcome,
    statusCode,
    error: outcome === 'delivered' ? null : `answered ${statusCode}`,
    providerMessageId: null,
  };
}

function dead(run: number, attempts: number): DeadEvent {
  const { messageId, subscriptionId, topic, protocol } = identity;
  return {
    type: 'dead',
    id: `dlq_${run}`,
    deliveryId: ID,
    messageId,
    subscriptionId,
    topic,
    protocol,
    run,
    endpoint: 'https://example.com',
    attempts,
    reason: 'retries exhausted',
    lastError: 'answered 503',
    lastStatusCode: 503,
    deadAt: new Date().toISOString(),
  };
}

const fold = (events: AttemptEvent[], from: DeliveryState = newDelivery(identity)) =>
  events.reduce(applyAttempt, from);

describe('delivery state', () => {
  it('takes its status from the newest attempt, whatever order attempts arrive in', () => {
    const inOrder = fold([attempt(1, 1, 'retry'), attempt(1, 2, 'retry'), attempt(1, 3, 'delivered', 200)]);
    const reversed = fold([attempt(1, 3, 'delivered', 200), attempt(1, 2, 'retry'), attempt(1, 1, 'retry')]);
    for (const s of [inOrder, reversed]) {
      expect(s).toMatchObject({
        status: 'delivered',
        run: 1,
        lastAttempt: 3,
        lastStatusCode: 200,
        lastError: null,
      });
      expect(s.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    }
  });

  it('adds a replayed attempt once', () => {
    const s = fold([attempt(1, 1, 'retry'), attempt(1, 1, 'retry'), attempt(1, 1, 'retry')]);
    expect(s.attempts).toHaveLength(1);
  });

  it.each([
    ['retry', 'retrying'],
    ['failed', 'dead'],
    ['delivered', 'delivered'],
  ] as const)('an attempt that says %s leaves the delivery %s', (outcome, status) => {
    expect(fold([attempt(1, 1, outcome)]).status).toBe(status);
  });

  it('keeps a cancelled delivery cancelled when a retry of its run arrives late', () => {
    const cancelled = applyCancelled(newDelivery(identity), {
      type: 'cancelled',
      deliveryId: ID,
      run: 1,
      reason: 'paused',
    });
    expect(fold([attempt(1, 1, 'retry')], cancelled)).toMatchObject({
      status: 'cancelled',
      lastError: 'paused',
    });
    // A redriven run moves on.
    expect(fold([attempt(2, 1, 'delivered', 200)], cancelled)).toMatchObject({ status: 'delivered', run: 2 });
  });

  it('files a dead letter unless the delivery was delivered in that run or has moved to a later one', () => {
    const retrying = fold([attempt(1, 1, 'retry')]);
    const filed = applyDead(retrying, dead(1, 1));
    expect(filed.file?.id).toBe('dlq_1');
    expect(filed.state).toMatchObject({ status: 'dead', lastAttempt: 1 });

    expect(applyDead(fold([attempt(1, 1, 'delivered', 200)]), dead(1, 1)).file).toBeNull();
    const redriven = { ...filed.state, run: 2, status: 'pending' as const, lastAttempt: 0 };
    expect(applyDead(redriven, dead(1, 1))).toEqual({ state: redriven, file: null });
  });

  it('cuts long error texts', () => {
    const long = { ...attempt(1, 1, 'retry'), error: 'x'.repeat(5000) };
    expect(fold([long]).attempts[0].error).toHaveLength(2000);
  });
});

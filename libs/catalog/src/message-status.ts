import type { MessageCounts } from './catalog-types';

/**
 * What became of a message: `accepted` (not fanned out yet), `no_subscribers` (fanned out, and no
 * active subscription's filter matched it: nobody receives it), `delivering` (deliveries pending or
 * retrying), `delivered` (every matched delivery delivered or cancelled), `failed` (done, with at
 * least one dead delivery).
 */
export const MESSAGE_STATUSES = ['accepted', 'no_subscribers', 'delivering', 'delivered', 'failed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** The status of a fanned-out message, from its delivery counts. */
export function messageStatus(counts: Pick<MessageCounts, 'matched' | 'pending' | 'failed'>): MessageStatus {
  if (counts.matched === 0) return 'no_subscribers';
  if (counts.pending > 0) return 'delivering';
  return counts.failed > 0 ? 'failed' : 'delivered';
}

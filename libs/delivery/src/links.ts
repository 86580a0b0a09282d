import type { HeraldConfig } from '@herald/config';
import type { Subscription } from '@herald/core';

/** The no-auth links a subscriber gets: unsubscribe always, confirm when a token is given. */
export function linksFor(
  config: Pick<HeraldConfig, 'publicBaseUrl'>,
  sub: Pick<Subscription, 'unsubscribeToken'>,
  confirmationToken?: string,
): { unsubscribeUrl: string; confirmUrl: string } {
  const base = config.publicBaseUrl;
  return {
    unsubscribeUrl: `${base}/v1/subscriptions/unsubscribe?token=${encodeURIComponent(sub.unsubscribeToken)}`,
    confirmUrl: confirmationToken
      ? `${base}/v1/subscriptions/confirm?token=${encodeURIComponent(confirmationToken)}`
      : '',
  };
}

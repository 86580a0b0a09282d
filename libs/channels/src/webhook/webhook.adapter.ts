import { failed, renderHttpBody, type DeliveryOutcome } from '@herald/core';
import type { SnsDocuments } from '@herald/sns';
import type { ChannelAdapter, DeliveryRequest, EndpointCheck } from '../channel-adapter';
import { checkReachableHttpEndpoint } from '../http/check-http-endpoint';
import { confirmationEnvelope } from '../http/confirmation-envelope';
import type { OutboundHttp } from '../http/outbound-http';
import { postSigned } from '../http/post-signed';
import type { SignableBody } from '../http/standard-webhook-headers';
import { snsHttpRequest } from '../sns/sns-rendering';

/**
 * Webhooks: a Standard Webhooks signed POST per delivery (API.md, "What receivers get"); subscriptions in
 * the `sns` format get SNS's documents and headers, also signed the Standard Webhooks way.
 */
export class WebhookAdapter implements ChannelAdapter {
  readonly protocol = 'webhook' as const;

  constructor(
    private readonly http: OutboundHttp,
    private readonly sns: SnsDocuments | null = null,
  ) {}

  checkEndpoint(endpoint: string): EndpointCheck {
    return checkReachableHttpEndpoint(this.http, endpoint);
  }

  availability(): { available: true } {
    return { available: true };
  }

  async send(request: DeliveryRequest): Promise<DeliveryOutcome> {
    if (request.subscription.format === 'sns') {
      if (!this.sns) return failed('this process cannot render the sns format');
      const sns = await snsHttpRequest(this.sns, request);
      return postSigned(this.http, request.subscription.endpoint, request, sns, sns.headers);
    }
    return postSigned(this.http, request.subscription.endpoint, request, webhookBody(request));
  }

  async close(): Promise<void> {
    // The outbound HTTP client is shared with the function channel; its owner closes it.
  }
}

function webhookBody(request: DeliveryRequest): SignableBody {
  if (request.kind === 'SubscriptionConfirmation') {
    return {
      id: request.messageId,
      contentType: 'application/json',
      body: JSON.stringify(confirmationEnvelope(request)),
    };
  }
  const { contentType, body } = renderHttpBody(request.message, request.subscription, request.unsubscribeUrl);
  return { id: request.message.id, contentType, body };
}

import { renderHttpBody, type DeliveryOutcome } from '@herald/core';
import type { ChannelAdapter, DeliveryRequest, EndpointCheck } from '../channel-adapter';
import { checkHttpEndpoint } from '../http/check-http-endpoint';
import { confirmationEnvelope } from '../http/confirmation-envelope';
import type { OutboundHttp } from '../http/outbound-http';
import { postSigned } from '../http/post-signed';
import type { SignableBody } from '../http/standard-webhook-headers';

/** Webhooks: a Standard Webhooks signed POST per delivery (API.md, "What receivers get"). */
export class WebhookAdapter implements ChannelAdapter {
  readonly protocol = 'webhook' as const;

  constructor(private readonly http: OutboundHttp) {}

  checkEndpoint(endpoint: string): EndpointCheck {
    return checkHttpEndpoint(endpoint);
  }

  availability(): { available: true } {
    return { available: true };
  }

  send(request: DeliveryRequest): Promise<DeliveryOutcome> {
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

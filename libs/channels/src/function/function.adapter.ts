import { bodyFor, notificationEnvelope, type DeliveryOutcome } from '@herald/core';
import type { SnsDocuments } from '@herald/sns';
import type { ChannelAdapter, DeliveryRequest, EndpointCheck } from '../channel-adapter';
import { checkReachableHttpEndpoint } from '../http/check-http-endpoint';
import { confirmationEnvelope } from '../http/confirmation-envelope';
import type { OutboundHttp } from '../http/outbound-http';
import { postSigned } from '../http/post-signed';
import { CLOUDEVENTS_CONTENT_TYPE, cloudEventFor } from './cloud-event';
import { parseLambdaArn } from './lambda-arn';
import type { LambdaInvoker } from './lambda-invoker';

export interface FunctionAdapterOptions {
  /** The process's outbound HTTP client (shared with webhooks). */
  http: OutboundHttp;
  lambda: LambdaInvoker;
  /** PUBLIC_BASE_URL: the CloudEvents `source` is the topic's URL under it. */
  publicBaseUrl: string;
  /** Renders the SNS event Lambda functions of `sns`-format subscriptions get. */
  sns?: SnsDocuments;
}

const ENDPOINT_FORMS =
  'must be an http(s) URL or a Lambda function ARN (arn:aws:lambda:<region>:<12-digit account>:function:<name>[:<version or alias>])';

/**
 * Serverless functions: an http(s) URL gets a signed CloudEvents 1.0 structured-mode POST, a Lambda
 * ARN a synchronous Lambda Invoke whose payload is the notification envelope.
 */
export class FunctionAdapter implements ChannelAdapter {
  readonly protocol = 'function' as const;

  constructor(private readonly options: FunctionAdapterOptions) {}

  checkEndpoint(endpoint: string): EndpointCheck {
    if (endpoint.startsWith('arn:')) {
      const arn = parseLambdaArn(endpoint);
      if (!arn) return { ok: false, message: ENDPOINT_FORMS };
      if (!this.options.lambda.hasCredentials()) {
        return {
          ok: false,
          message:
            'Lambda ARNs need AWS credentials on the server (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)',
        };
      }
      return { ok: true, endpoint };
    }
    if (!/^https?:/i.test(endpoint)) return { ok: false, message: ENDPOINT_FORMS };
    return checkReachableHttpEndpoint(this.options.http, endpoint);
  }

  availability(): { available: true } {
    return { available: true };
  }

  async send(request: DeliveryRequest): Promise<DeliveryOutcome> {
    const endpoint = request.subscription.endpoint;
    const arn = parseLambdaArn(endpoint);
    if (arn) {
      const sns = this.options.sns;
      const payload =
        request.subscription.format === 'sns' && sns && request.kind === 'Notification'
          ? await sns.lambdaEvent(request.message, request.subscription)
          : lambdaPayload(request);
      return this.options.lambda.invoke(arn, JSON.stringify(payload) ?? 'null');
    }
    const event = cloudEventFor(request, this.options.publicBaseUrl);
    return postSigned(this.options.http, endpoint, request, {
      id: event.id,
      contentType: CLOUDEVENTS_CONTENT_TYPE,
      body: JSON.stringify(event),
    });
  }

  async close(): Promise<void> {
    await this.options.lambda.close();
  }
}

/** What a Lambda function receives: the same JSON a webhook would, as the event object. */
function lambdaPayload(request: DeliveryRequest): unknown {
  if (request.kind === 'SubscriptionConfirmation') return confirmationEnvelope(request);
  const { message, subscription } = request;
  return subscription.rawDelivery
    ? bodyFor(message, subscription.protocol)
    : notificationEnvelope(message, subscription, request.unsubscribeUrl);
}

import {
  classifyHttpStatus,
  classifyNetworkError,
  failed,
  receiverAnswer,
  type DeliveryOutcome,
} from '@herald/core';
import type { DeliveryRequest } from '../channel-adapter';
import { checkHttpEndpoint } from './check-http-endpoint';
import { DestinationDeniedError } from './destination-denied.error';
import type { OutboundHttp } from './outbound-http';
import { standardWebhookHeaders, type SignableBody } from './standard-webhook-headers';

/**
 * Signs and POSTs one delivery, then classifies the answer: the one send path webhooks and
 * functions over HTTP share. `extraHeaders` (SNS's) are added to the signature headers. Never throws for a
 * failed delivery.
 */
export async function postSigned(
  http: OutboundHttp,
  url: string,
  request: DeliveryRequest,
  signable: SignableBody,
  extraHeaders?: Record<string, string>,
): Promise<DeliveryOutcome> {
  const check = checkHttpEndpoint(url);
  if (!check.ok) return failed(`endpoint ${check.message}`);
  const headers = standardWebhookHeaders(request, signable);
  if (!headers) return failed('subscription has no signing secret');
  try {
    // The headers are this delivery's own object: added to, not copied.
    if (extraHeaders) Object.assign(headers, extraHeaders);
    const response = await http.post(check.endpoint, headers, signable.body);
    return {
      ...classifyHttpStatus(response.statusCode, response.headers['retry-after']),
      response: receiverAnswer(
        response.statusCode,
        response.headers,
        response.bodyStart,
        response.bodyTruncated,
      ),
    };
  } catch (err) {
    if (err instanceof DestinationDeniedError) return failed(err.message);
    return classifyNetworkError(err);
  }
}

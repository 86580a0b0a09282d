import type { SnsControlType, SnsDocuments } from '@herald/sns';
import type { ConfirmationRequest, DeliveryRequest } from '../channel-adapter';
import type { SignableBody } from '../http/standard-webhook-headers';

/** A request in SNS's format, ready to sign and POST: the body and SNS's `x-amz-sns-*` headers. */
export interface SnsSignable extends SignableBody {
  headers: Record<string, string>;
}

const controlInput = (request: ConfirmationRequest) => ({
  messageId: request.messageId,
  sub: request.subscription,
  token: request.token,
  timestamp: new Date(),
});

const controlType = (request: ConfirmationRequest): SnsControlType =>
  request.snsType ?? 'SubscriptionConfirmation';

/** What an SNS-format HTTP(S) subscription gets for a request. */
export async function snsHttpRequest(sns: SnsDocuments, request: DeliveryRequest): Promise<SnsSignable> {
  const rendered =
    request.kind === 'Notification'
      ? await sns.httpNotification(request.message, request.subscription)
      : await sns.httpControl(controlType(request), controlInput(request));
  const id = request.kind === 'Notification' ? request.message.id : request.messageId;
  const headers = {
    ...rendered.headers,
    'x-herald-message-type': rendered.headers['x-amz-sns-message-type'],
  };
  return { id, contentType: rendered.contentType, body: rendered.body, headers };
}

/** The SNS JSON document an email-json subscription gets as its email's text. */
export async function snsEmailDocument(sns: SnsDocuments, request: DeliveryRequest): Promise<string> {
  const doc =
    request.kind === 'Notification'
      ? await sns.notification(request.message, request.subscription)
      : await sns.control(controlType(request), controlInput(request));
  return JSON.stringify(doc, null, 2);
}

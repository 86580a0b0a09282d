import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/** A notification of a message, as a webhook subscription without `rawDelivery` receives it. */
export interface HeraldNotification {
  type: 'Notification';
  messageId: string;
  topic: string;
  subject: string | null;
  /** The body as published: a string or any JSON value. */
  body: unknown;
  attributes: Record<string, string | number | boolean | string[] | number[]>;
  publishedAt: string;
  subscriptionId: string;
  unsubscribeUrl: string;
}

/** The first request a webhook subscription gets: a GET of `confirmUrl` makes it active. */
export interface HeraldSubscriptionConfirmation {
  type: 'SubscriptionConfirmation';
  messageId: string;
  topic: string;
  subscriptionId: string;
  token: string;
  confirmUrl: string;
  timestamp: string;
}

export type HeraldWebhook = HeraldNotification | HeraldSubscriptionConfirmation;

/** Request headers as Node (`req.headers`), fetch (`Headers`) or a plain object give them. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** A request that is not a verified Herald webhook: bad or missing signature, old timestamp, other body. */
export class WebhookVerificationFailed extends Error {
  override readonly name = 'WebhookVerificationFailed';
}

function plainHeaders(headers: WebhookHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = headers instanceof Headers ? [...headers.entries()] : Object.entries(headers);
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * Checks a request's Standard Webhooks signature (`webhook-id`, `webhook-timestamp`, `webhook-signature`)
 * with the subscription's `whsec_` secret and answers its body as sent. Give the body as received: the
 * signature covers its exact bytes, so a body parsed and serialised again does not verify.
 */
export function verifyWebhookSignature(
  secret: string,
  headers: WebhookHeaders,
  body: string | Buffer | Uint8Array,
): string {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  const plain = plainHeaders(headers);
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    if (!plain[name])
      throw new WebhookVerificationFailed(`not a signed webhook: the ${name} header is missing`);
  }
  try {
    new Webhook(secret).verify(text, plain);
  } catch (err) {
    const reason = err instanceof WebhookVerificationError ? err.message : String(err);
    throw new WebhookVerificationFailed(`the webhook signature does not verify with this secret: ${reason}`);
  }
  return text;
}

/**
 * Verifies a request from Herald (see verifyWebhookSignature) and answers its notification or
 * subscription confirmation, typed. Throws WebhookVerificationFailed when the signature is bad or the
 * body is neither (a `rawDelivery` subscription's body is the message as published: use
 * verifyWebhookSignature for those).
 */
export function verifyWebhook(
  secret: string,
  headers: WebhookHeaders,
  body: string | Buffer | Uint8Array,
): HeraldWebhook {
  const text = verifyWebhookSignature(secret, headers, body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WebhookVerificationFailed('the signed body is not JSON (a rawDelivery subscription?)');
  }
  const type = (parsed as { type?: unknown } | null)?.type;
  if (type !== 'Notification' && type !== 'SubscriptionConfirmation') {
    throw new WebhookVerificationFailed(
      'the signed body is not a Herald notification (a rawDelivery subscription?)',
    );
  }
  return parsed as HeraldWebhook;
}

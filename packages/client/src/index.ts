export { allPages, createHeraldClient, type HeraldClient, type HeraldClientOptions } from './herald-client';
export { HeraldApiError } from './herald-api-error';
export {
  verifyWebhook,
  verifyWebhookSignature,
  WebhookVerificationFailed,
  type HeraldNotification,
  type HeraldSubscriptionConfirmation,
  type HeraldWebhook,
  type WebhookHeaders,
} from './verify-webhook';
export type * from './types';
export type { components, operations, paths } from './generated/openapi';

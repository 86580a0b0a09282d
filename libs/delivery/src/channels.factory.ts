import {
  createOutboundHttp,
  EmailAdapter,
  FunctionAdapter,
  LambdaInvoker,
  SmsAdapter,
  WebhookAdapter,
  type ChannelAdapter,
} from '@herald/channels';
import type { HeraldConfig } from '@herald/config';
import type { Protocol } from '@herald/core';
import type { SnsDocuments } from '@herald/sns';
import type { Logger } from 'pino';
import { ChannelRegistry } from './channel-registry';

/**
 * One adapter per protocol for this process; webhooks and HTTP functions share one guarded HTTP client,
 * and `sns` renders the SNS format for the channels that offer it.
 */
export function createChannelRegistry(
  config: HeraldConfig,
  log: Logger,
  sns?: SnsDocuments,
): ChannelRegistry {
  const http = createOutboundHttp({ ...config.webhook, allowCidrs: config.outboundAllowCidrs });
  const lambda = new LambdaInvoker(config.lambda, {
    connectTimeoutMs: config.webhook.connectTimeoutMs,
    requestTimeoutMs: config.webhook.headersTimeoutMs + config.webhook.bodyTimeoutMs,
  });
  const adapters = new Map<Protocol, ChannelAdapter>([
    ['webhook', new WebhookAdapter(http, sns)],
    ['email', new EmailAdapter(config, { logger: log, sns })],
    ['sms', new SmsAdapter(config)],
    ['function', new FunctionAdapter({ http, lambda, publicBaseUrl: config.publicBaseUrl, sns })],
  ]);
  return new ChannelRegistry(adapters, [http]);
}

import type { HeraldConfig } from '@herald/config';
import { MessageStore, Publisher, QueueClient, RateLimiter } from '@herald/queue';
import { HERALD_CONFIG, HeraldMetrics, LOGGER, REDIS } from '@herald/runtime';
import { Module } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { CatalogCache } from './catalog-cache';
import { createChannelRegistry } from './channels.factory';
import { ChannelRegistry } from './channel-registry';
import { ConfirmationService } from './confirmation.service';
import { DeliveryService } from './delivery.service';
import { FanoutService } from './fanout.service';
import { WorkerService } from './worker.service';

/** The channel adapters, matching and publishing; the API uses them too (endpoint checks, dry-run, publish). */
@Module({
  providers: [
    {
      provide: ChannelRegistry,
      useFactory: (config: HeraldConfig, log: Logger) => createChannelRegistry(config, log),
      inject: [HERALD_CONFIG, LOGGER],
    },
    {
      provide: RateLimiter,
      useFactory: (redis: Redis, config: HeraldConfig) =>
        new RateLimiter(redis, `${config.queuePrefix}:rate`),
      inject: [REDIS, HERALD_CONFIG],
    },
    CatalogCache,
    FanoutService,
    DeliveryService,
    ConfirmationService,
    {
      provide: Publisher,
      // Small topics are fanned out at publish, from the cached subscriptions (FanoutService.route).
      useFactory: (
        redis: Redis,
        store: MessageStore,
        queues: QueueClient,
        fanout: FanoutService,
        config: HeraldConfig,
        metrics: HeraldMetrics,
      ) =>
        new Publisher(redis, store, queues, {
          timeoutMs: config.publishTimeoutMs,
          router: (topic, message) => fanout.route(topic, message),
          counter: metrics,
        }),
      inject: [REDIS, MessageStore, QueueClient, FanoutService, HERALD_CONFIG, HeraldMetrics],
    },
  ],
  exports: [
    ChannelRegistry,
    CatalogCache,
    FanoutService,
    DeliveryService,
    ConfirmationService,
    RateLimiter,
    Publisher,
  ],
})
export class DeliveryModule {}

/** The workers themselves: fan-out, deliveries, the catalog recorder and the sweeper. */
@Module({
  imports: [DeliveryModule],
  providers: [WorkerService],
  exports: [WorkerService],
})
export class WorkerModule {}

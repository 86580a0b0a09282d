import type { HeraldConfig } from '@herald/config';
import { MessageStore, Publisher, RateLimiter, Shards, type RedisClient } from '@herald/queue';
import { HERALD_CONFIG, HeraldMetrics, LOGGER, REDIS } from '@herald/runtime';
import { SnsDocuments } from '@herald/sns';
import { Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { CatalogCache } from './catalog-cache';
import { createChannelRegistry } from './channels.factory';
import { ChannelRegistry } from './channel-registry';
import { ConfirmationService } from './confirmation.service';
import { DeliveryService } from './delivery.service';
import { FanoutService } from './fanout.service';
import { TestNotificationService } from './test-notification.service';
import { WorkerService } from './worker.service';
import { workerThreadCount } from './worker-thread-protocol';

/** The channel adapters, matching and publishing; the API uses them too (endpoint checks, dry-run, publish). */
@Module({
  providers: [
    {
      provide: ChannelRegistry,
      useFactory: (config: HeraldConfig, log: Logger, sns: SnsDocuments) =>
        createChannelRegistry(config, log, sns),
      inject: [HERALD_CONFIG, LOGGER, SnsDocuments],
    },
    {
      provide: RateLimiter,
      // Rate buckets are their own hash tags (see RateLimiter.keyFor): shared by every process.
      useFactory: (redis: RedisClient, config: HeraldConfig) =>
        new RateLimiter(redis, `${config.queuePrefix.replace(/[{}]/g, '')}:rate:`),
      inject: [REDIS, HERALD_CONFIG],
    },
    CatalogCache,
    FanoutService,
    DeliveryService,
    ConfirmationService,
    TestNotificationService,
    {
      provide: Publisher,
      // Small topics are fanned out at publish, from the cached subscriptions (FanoutService.route).
      useFactory: (
        redis: RedisClient,
        store: MessageStore,
        shards: Shards,
        fanout: FanoutService,
        config: HeraldConfig,
        metrics: HeraldMetrics,
      ) =>
        new Publisher(redis, store, shards, {
          timeoutMs: config.publishTimeoutMs,
          waitReplicas: config.redisWaitReplicas,
          waitTimeoutMs: config.redisWaitTimeoutMs,
          router: (topic, message) => fanout.route(topic, message),
          counter: metrics,
          // Only deliveries made on this event loop read the publisher's memory.
          rememberPayloads: config.roles.has('worker') && workerThreadCount(config) === 0,
        }),
      inject: [REDIS, MessageStore, Shards, FanoutService, HERALD_CONFIG, HeraldMetrics],
    },
  ],
  exports: [
    ChannelRegistry,
    CatalogCache,
    FanoutService,
    DeliveryService,
    ConfirmationService,
    TestNotificationService,
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

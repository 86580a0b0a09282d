import type { HeraldConfig } from '@herald/config';
import { RateLimiter } from '@herald/queue';
import { HERALD_CONFIG, LOGGER, REDIS } from '@herald/runtime';
import { SnsDocuments } from '@herald/sns';
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

/** The channel adapters and matching; the API uses them too (endpoint checks, dry-run). */
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
      useFactory: (redis: Redis, config: HeraldConfig) =>
        new RateLimiter(redis, `${config.queuePrefix}:rate`),
      inject: [REDIS, HERALD_CONFIG],
    },
    CatalogCache,
    FanoutService,
    DeliveryService,
    ConfirmationService,
  ],
  exports: [ChannelRegistry, CatalogCache, FanoutService, DeliveryService, ConfirmationService, RateLimiter],
})
export class DeliveryModule {}

/** The workers themselves: fan-out, deliveries, the catalog recorder and the sweeper. */
@Module({
  imports: [DeliveryModule],
  providers: [WorkerService],
  exports: [WorkerService],
})
export class WorkerModule {}

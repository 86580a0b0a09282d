import { Catalog } from '@herald/catalog';
import type { HeraldConfig } from '@herald/config';
import { SecretBox } from '@herald/core';
import {
  ChangeNotifier,
  createRedisClient,
  describeRedis,
  MessageStore,
  Shards,
  type RedisClient,
} from '@herald/queue';
import { SnsArns, SnsDocuments, SnsKeyring } from '@herald/sns';
import {
  Global,
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Logger } from 'pino';
import { HeraldMetrics } from './herald-metrics';
import { OperationsServer } from './operations-server';
import { Readiness } from './readiness';
import { openSecretBox } from './secret-key';
import { warnAboutRedisDurability } from './redis-durability';
import { CatalogHistory } from './catalog-history';
import { HERALD_CONFIG, LOGGER, REDIS } from './tokens';

/** Checks Redis at start; closes the shared connections last, after every worker and server has drained. */
@Injectable()
export class InfraLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly catalog: Catalog,
    private readonly shards: Shards,
    private readonly changes: ChangeNotifier,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await warnAboutRedisDurability(this.redis, this.logger);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.changes.close();
    await this.shards.close();
    await this.catalog.close();
    this.redis.disconnect();
  }
}

/**
 * Config, logger, Redis (one server or a cluster), the catalog, the shards' queue producers and the
 * sealed-secret and SNS signing keys, shared by the API and the workers. The catalog is opened (and
 * migrated) before anything else starts.
 */
@Global()
@Module({})
export class InfraModule {
  static forRoot(config: HeraldConfig, logger: Logger): DynamicModule {
    return {
      module: InfraModule,
      providers: [
        { provide: HERALD_CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        {
          provide: REDIS,
          useFactory: () => {
            const redis = createRedisClient(config);
            let lastError = '';
            redis.on('error', (err: Error) => {
              if (err.message !== lastError) {
                lastError = err.message;
                logger.error({ redis: describeRedis(config), err: err.message }, 'redis connection error');
              }
            });
            redis.on('ready', () => (lastError = ''));
            return redis;
          },
        },
        { provide: Catalog, useFactory: () => Catalog.open(config.databaseUrl) },
        {
          provide: Shards,
          useFactory: (redis: RedisClient) => new Shards(redis, config.queuePrefix, config.shards),
          inject: [REDIS],
        },
        {
          provide: MessageStore,
          useFactory: (redis: RedisClient, shards: Shards) => new MessageStore(redis, shards),
          inject: [REDIS, Shards],
        },
        {
          provide: ChangeNotifier,
          useFactory: (redis: RedisClient) => new ChangeNotifier(redis, config.queuePrefix),
          inject: [REDIS],
        },
        {
          provide: HeraldMetrics,
          useFactory: (catalog: Catalog, shards: Shards) => new HeraldMetrics(catalog, shards),
          inject: [Catalog, Shards],
        },
        Readiness,
        // A worker-only process has no API server: this one answers its probes and scrapes.
        ...(config.roles.has('api') ? [] : [OperationsServer]),
        { provide: SecretBox, useFactory: () => openSecretBox(config, logger) },
        { provide: SnsArns, useValue: new SnsArns(config.sns) },
        {
          provide: SnsKeyring,
          useFactory: (catalog: Catalog, box: SecretBox) => new SnsKeyring(catalog.snsSigningKeys, box),
          inject: [Catalog, SecretBox],
        },
        {
          provide: SnsDocuments,
          useFactory: (keyring: SnsKeyring, arns: SnsArns) =>
            new SnsDocuments({ arns, publicBaseUrl: config.publicBaseUrl, signer: keyring }),
          inject: [SnsKeyring, SnsArns],
        },
        InfraLifecycle,
        CatalogHistory,
      ],
      exports: [
        HERALD_CONFIG,
        LOGGER,
        REDIS,
        Catalog,
        Shards,
        MessageStore,
        ChangeNotifier,
        HeraldMetrics,
        Readiness,
        SecretBox,
        SnsArns,
        SnsKeyring,
        SnsDocuments,
      ],
    };
  }
}

import { Catalog } from '@herald/catalog';
import type { HeraldConfig } from '@herald/config';
import { SecretBox } from '@herald/core';
import {
  CatalogEventStream,
  ChangeNotifier,
  createRedis,
  MessageStore,
  Publisher,
  QueueClient,
  redactRedisUrl,
} from '@herald/queue';
import { SnsArns, SnsDocuments, SnsKeyring } from '@herald/sns';
import {
  Global,
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { openSecretBox } from './secret-key';
import { HERALD_CONFIG, LOGGER, REDIS } from './tokens';

/** Closes the shared connections last, after every worker and server has drained. */
@Injectable()
export class InfraLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly catalog: Catalog,
    private readonly queues: QueueClient,
    private readonly changes: ChangeNotifier,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.changes.close();
    await this.queues.close();
    await this.catalog.close();
    this.redis.disconnect();
  }
}

/**
 * Config, logger, Redis, catalog, the queue producers and the sealed-secret and SNS signing keys, shared
 * by the API and the workers.
 * The catalog is opened (and migrated) before anything else starts.
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
            const redis = createRedis(config.redisUrl);
            let lastError = '';
            redis.on('error', (err: Error) => {
              if (err.message !== lastError) {
                lastError = err.message;
                logger.error(
                  { redis: redactRedisUrl(config.redisUrl), err: err.message },
                  'redis connection error',
                );
              }
            });
            redis.on('ready', () => (lastError = ''));
            return redis;
          },
        },
        { provide: Catalog, useFactory: () => Catalog.open(config.databaseUrl) },
        {
          provide: QueueClient,
          useFactory: (redis: Redis) => new QueueClient(redis, config.queuePrefix),
          inject: [REDIS],
        },
        {
          provide: MessageStore,
          useFactory: (redis: Redis) => new MessageStore(redis, config.queuePrefix),
          inject: [REDIS],
        },
        {
          provide: CatalogEventStream,
          useFactory: (redis: Redis) => new CatalogEventStream(redis, config.queuePrefix),
          inject: [REDIS],
        },
        {
          provide: ChangeNotifier,
          useFactory: (redis: Redis) => new ChangeNotifier(redis, config.queuePrefix),
          inject: [REDIS],
        },
        {
          provide: Publisher,
          useFactory: (store: MessageStore, queues: QueueClient) => new Publisher(store, queues),
          inject: [MessageStore, QueueClient],
        },
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
      ],
      exports: [
        HERALD_CONFIG,
        LOGGER,
        REDIS,
        Catalog,
        QueueClient,
        MessageStore,
        CatalogEventStream,
        ChangeNotifier,
        Publisher,
        SecretBox,
        SnsArns,
        SnsKeyring,
        SnsDocuments,
      ],
    };
  }
}

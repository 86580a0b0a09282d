import { Catalog } from '@herald/catalog';
import type { HeraldConfig } from '@herald/config';
import {
  CatalogEventStream,
  ChangeNotifier,
  createRedis,
  MessageStore,
  QueueClient,
  redactRedisUrl,
} from '@herald/queue';
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
import { CatalogHistory } from './catalog-history';
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
 * Config, logger, Redis, catalog and the queue producers, shared by the API and the workers.
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
        InfraLifecycle,
        CatalogHistory,
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
      ],
    };
  }
}

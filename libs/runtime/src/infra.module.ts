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
import { HERALD_CONFIG, LOGGER, REDIS, REDIS_PLAIN, WORKER_THREAD } from './tokens';

/** A shared connection that says when it loses Redis (once per distinct error) and carries on. */
function sharedRedis(config: HeraldConfig, logger: Logger): RedisClient {
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
}

/** Checks Redis at start; closes the shared connections last, after every worker and server has drained. */
@Injectable()
export class InfraLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(WORKER_THREAD) private readonly workerThread: boolean,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(REDIS_PLAIN) private readonly plain: RedisClient,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly catalog: Catalog,
    private readonly shards: Shards,
    private readonly changes: ChangeNotifier,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Said once per process: the API's thread says it for a worker thread beside it.
    if (!this.workerThread) await warnAboutRedisDurability(this.redis, this.logger);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.changes.close();
    await this.shards.close();
    await this.catalog.close();
    this.redis.disconnect();
    this.plain.disconnect();
  }
}

/**
 * Config, logger, Redis (one server or a cluster), the catalog, the shards' queue producers and the
 * sealed-secret and SNS signing keys, shared by the API and the workers. The catalog is opened (and
 * migrated) before anything else starts.
 */
export interface InfraOptions {
  /**
   * A worker thread beside the API's (HERALD_WORKER_THREADS): it shares the process's catalog lock,
   * counts only its own metrics (the API's registry adds them up) and serves no probes of its own.
   */
  workerThread?: boolean;
}

@Global()
@Module({})
export class InfraModule {
  static forRoot(config: HeraldConfig, logger: Logger, options: InfraOptions = {}): DynamicModule {
    const thread = options.workerThread === true;
    return {
      module: InfraModule,
      providers: [
        { provide: HERALD_CONFIG, useValue: config },
        { provide: WORKER_THREAD, useValue: thread },
        { provide: LOGGER, useValue: logger },
        { provide: REDIS, useFactory: () => sharedRedis(config, logger) },
        { provide: REDIS_PLAIN, useFactory: () => sharedRedis(config, logger) },
        {
          provide: Catalog,
          useFactory: () => Catalog.open(config.databaseUrl, { lockHeldByProcess: thread }),
        },
        {
          provide: Shards,
          useFactory: (redis: RedisClient, plain: RedisClient) =>
            new Shards(redis, config.queuePrefix, config.shards, plain),
          inject: [REDIS, REDIS_PLAIN],
        },
        {
          provide: MessageStore,
          useFactory: (plain: RedisClient, shards: Shards) => new MessageStore(plain, shards),
          inject: [REDIS_PLAIN, Shards],
        },
        {
          provide: ChangeNotifier,
          useFactory: (redis: RedisClient) => new ChangeNotifier(redis, config.queuePrefix),
          inject: [REDIS],
        },
        {
          provide: HeraldMetrics,
          useFactory: (catalog: Catalog, shards: Shards) =>
            new HeraldMetrics(catalog, shards, { countersOnly: thread }),
          inject: [Catalog, Shards],
        },
        Readiness,
        // A worker-only process has no API server: this one answers its probes and scrapes.
        ...(config.roles.has('api') || thread ? [] : [OperationsServer]),
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
        // History is kept by the process's main thread (it has the worker role too).
        ...(thread ? [] : [CatalogHistory]),
      ],
      exports: [
        HERALD_CONFIG,
        LOGGER,
        REDIS,
        REDIS_PLAIN,
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

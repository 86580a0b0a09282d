import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiKeysRepository } from './api-keys-repository';
import type { CatalogEvent } from './catalog-event';
import { CatalogEventWriter } from './catalog-event-writer';
import { DeadLettersRepository } from './dead-letters-repository';
import { DeliveriesRepository } from './deliveries-repository';
import { FolderLock } from './folder-lock';
import { HistoryKeeper, type HistoryOptions } from './history-keeper';
import { MessagesRepository } from './messages-repository';
import { migrate } from './migrate';
import { PgSqlDatabase } from './pg-sql-database';
import type { SqlClient, SqlDatabase, SqlDialect } from './sql-client';
import { SQLITE_FILE, SqliteSqlDatabase } from './sqlite-sql-database';
import { SnsSigningKeysRepository } from './sns-signing-keys-repository';
import { SubscriptionsRepository } from './subscriptions-repository';
import { TopicTagsRepository } from './topic-tags-repository';
import { TopicsRepository } from './topics-repository';

export interface CatalogOptions {
  /** Connections in the pool (PostgreSQL only). */
  poolSize?: number;
  /**
   * The embedded catalog's folder is locked already by this process (a worker thread opens a second
   * connection to the catalog the process's main thread opened and holds the lock of).
   */
  lockHeldByProcess?: boolean;
}

/** Where a DATABASE_URL points: a PostgreSQL server, the embedded catalog's folder, or one in memory. */
export type CatalogLocation =
  { driver: 'postgres'; url: string } | { driver: 'sqlite'; folder: string | null };

/**
 * Herald's system of record: owns the database connection and exposes one repository per subject.
 * Works the same on PostgreSQL and on the embedded catalog (SQLite).
 */
export class Catalog {
  readonly topics: TopicsRepository;
  readonly subscriptions: SubscriptionsRepository;
  readonly apiKeys: ApiKeysRepository;
  readonly messages: MessagesRepository;
  readonly deliveries: DeliveriesRepository;
  readonly deadLetters: DeadLettersRepository;
  readonly topicTags: TopicTagsRepository;
  readonly snsSigningKeys: SnsSigningKeysRepository;
  readonly events: CatalogEventWriter;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly db: SqlDatabase,
    private readonly lock: FolderLock | null,
  ) {
    this.topics = new TopicsRepository(db);
    this.subscriptions = new SubscriptionsRepository(db);
    this.apiKeys = new ApiKeysRepository(db);
    this.messages = new MessagesRepository(db);
    this.deliveries = new DeliveriesRepository(db);
    this.deadLetters = new DeadLettersRepository(db);
    this.topicTags = new TopicTagsRepository(db);
    this.snsSigningKeys = new SnsSigningKeysRepository(db);
    this.events = new CatalogEventWriter(db);
  }

  /**
   * Opens `postgres://…` / `postgresql://…` with a pool, `memory://` as a throwaway embedded catalog,
   * or any other value (a path or `file://` URL) as the embedded catalog's folder, locked against
   * other processes (throws CatalogLockedError). Applies pending migrations before returning.
   */
  static async open(databaseUrl: string, options: CatalogOptions = {}): Promise<Catalog> {
    const location = Catalog.locate(databaseUrl);
    if (location.driver === 'postgres') {
      const db = await PgSqlDatabase.connect(location.url, options.poolSize);
      return Catalog.start(db, null);
    }
    if (location.folder === null) return Catalog.start(SqliteSqlDatabase.open(':memory:'), null);
    const folder = location.folder;
    if (existsSync(join(folder, 'PG_VERSION'))) {
      throw new Error(
        `${folder} holds an embedded catalog of Herald 0.1 (PGlite), which this release no longer reads: ` +
          `the embedded catalog is now SQLite. Move the folder away (or point DATABASE_URL at another ` +
          `folder) to start with an empty catalog; keep data across upgrades with PostgreSQL.`,
      );
    }
    mkdirSync(folder, { recursive: true });
    const lock = options.lockHeldByProcess ? null : FolderLock.acquire(folder);
    let db: SqlDatabase;
    try {
      db = SqliteSqlDatabase.open(join(folder, SQLITE_FILE));
    } catch (err) {
      lock?.release();
      throw err;
    }
    return Catalog.start(db, lock);
  }

  static locate(databaseUrl: string): CatalogLocation {
    const value = databaseUrl.trim();
    if (/^postgres(ql)?:\/\//i.test(value)) return { driver: 'postgres', url: value };
    if (value === 'memory://' || value === 'memory:') return { driver: 'sqlite', folder: null };
    if (value.startsWith('file://')) return { driver: 'sqlite', folder: fileURLToPath(value) };
    return { driver: 'sqlite', folder: resolve(value) };
  }

  private static async start(db: SqlDatabase, lock: FolderLock | null): Promise<Catalog> {
    try {
      await migrate(db);
    } catch (err) {
      await db.close().catch(() => undefined);
      lock?.release();
      throw err;
    }
    return new Catalog(db, lock);
  }

  get driver(): SqlDialect {
    return this.db.dialect;
  }

  /** Direct SQL access, for tools and tests; application code goes through the repositories. */
  get sql(): SqlClient {
    return this.db;
  }

  /** The workers' batch writer for all hot-path writes; see CatalogEventWriter. */
  async applyEvents(events: readonly CatalogEvent[]): Promise<void> {
    return this.events.applyEvents(events);
  }

  /** The keeper of this catalog's retention (partitions on PostgreSQL); see HistoryKeeper. */
  historyKeeper(options: HistoryOptions): HistoryKeeper {
    return new HistoryKeeper(this.db, options);
  }

  /** Resolves when the database answers (readiness). */
  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  /** Closes the connection and releases the folder lock. Safe to call twice. */
  async close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.db.close();
      } finally {
        this.lock?.release();
      }
    })();
    return this.closing;
  }
}

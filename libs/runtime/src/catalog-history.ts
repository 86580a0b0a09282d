import { Catalog, type HistoryKeeper } from '@herald/catalog';
import type { HeraldConfig } from '@herald/config';
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Logger } from 'pino';
import { HERALD_CONFIG, LOGGER } from './tokens';

/** Often enough to drop each day soon after it has passed; partitions are made a week ahead. */
const HISTORY_INTERVAL_MS = 60 * 60_000;

/**
 * Keeps the catalog's history within RETENTION_DAYS (see HistoryKeeper) in every process that runs
 * the workers, so no extra cron is needed: once at start, then hourly. Several processes may do it at
 * once; the keeper takes turns through a lock.
 */
@Injectable()
export class CatalogHistory implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private keeper: HistoryKeeper | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly catalog: Catalog,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.roles.has('worker')) return;
    this.keeper = this.catalog.historyKeeper(this.config.history);
    this.tick();
    this.timer = setInterval(() => this.tick(), HISTORY_INTERVAL_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private tick(): void {
    // A first clean-up of a large catalog can outlast the interval: never run two at once.
    if (this.running || !this.keeper) return;
    this.running = this.keeper
      .run()
      .then(
        (report) => {
          const { created, dropped, deleted } = report;
          const removed = deleted.messages + deleted.deliveries + deleted.deadLetters;
          if (created.length > 0 || dropped.length > 0 || removed > 0)
            this.log.info({ created, dropped, deleted }, 'catalog history kept');
        },
        (err: unknown) =>
          this.log.error(
            { err: err instanceof Error ? err.message : String(err) },
            'catalog history could not be kept; trying again within the hour',
          ),
      )
      .finally(() => (this.running = null));
  }
}

import type { HeraldConfig } from '@herald/config';
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { HeraldMetrics } from './herald-metrics';
import { Readiness } from './readiness';
import { HERALD_CONFIG, LOGGER } from './tokens';

/**
 * `/healthz`, `/readyz` and `/metrics` of a worker-only process (it has no API server) on METRICS_PORT.
 * A port already taken is logged and the worker goes on delivering: its work matters more than its probes.
 */
@Injectable()
export class OperationsServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private server: Server | null = null;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly metrics: HeraldMetrics,
    private readonly readiness: Readiness,
  ) {}

  /** The port it listens on (METRICS_PORT, or the one picked for 0); null when not listening. */
  get port(): number | null {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return address ? address.port : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      void this.answer(req.method ?? 'GET', path, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    const { host, metricsPort } = this.config;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(metricsPort, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.log.error(
        { port: metricsPort, err: err instanceof Error ? err.message : String(err) },
        'could not serve /metrics, /healthz and /readyz: set METRICS_PORT to a free port (0 picks one)',
      );
      return;
    }
    this.server = server;
    this.log.info({ url: `http://${host}:${this.port}/metrics` }, 'worker metrics and health');
  }

  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async answer(method: string, path: string, res: ServerResponse): Promise<void> {
    if (method !== 'GET' && method !== 'HEAD') return problem(res, 405, 'Only GET is served here.');
    if (path === '/healthz') return send(res, 200, 'application/json', JSON.stringify({ status: 'ok' }));
    if (path === '/readyz') {
      const report = await this.readiness.check();
      return send(res, report.ready ? 200 : 503, 'application/json', JSON.stringify(report.body));
    }
    if (path === '/metrics') {
      const { contentType, body } = await this.metrics.exposition();
      return send(res, 200, contentType, body);
    }
    problem(res, 404, 'This port serves /healthz, /readyz and /metrics only.');
  }
}

function problem(res: ServerResponse, status: number, detail: string): void {
  const title = status === 404 ? 'Not Found' : 'Method Not Allowed';
  send(
    res,
    status,
    'application/problem+json',
    JSON.stringify({ type: 'about:blank', title, status, detail }),
  );
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

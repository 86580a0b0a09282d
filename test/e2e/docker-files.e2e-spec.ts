import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHerald, type TestHerald } from '../support/herald';
import { freePort } from '../support/servers';

const root = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/**
 * Runs a healthcheck's `node -e` script the way the container would; resolves with its exit status.
 * Asynchronously: Herald answers from this very process.
 */
function probe(script: string, env: Record<string, string> = {}): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      env: { PATH: process.env.PATH, ...env },
      stdio: 'ignore',
      timeout: 10_000,
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

/**
 * The Dockerfile and docker-compose.yml (issue 11). No Docker engine runs here, so they are checked by
 * reading, and their healthcheck scripts are run with this Node against a real Herald.
 */
describe('the Docker files', () => {
  let herald: TestHerald;
  let closedPort: number;
  const dockerfile = read('Dockerfile');
  const compose = read('docker-compose.yml');

  beforeAll(async () => {
    herald = await startHerald('sqlite');
    closedPort = await freePort();
  });
  afterAll(async () => herald?.close());

  it('gives the runtime user a writable data volume', () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
    expect(runtime).toContain('HERALD_DATA_DIR=/app/.data');
    expect(runtime).toMatch(/RUN mkdir -p \/app\/\.data && chown node:node \/app\/\.data/);
    expect(runtime).toMatch(/VOLUME \["\/app\/\.data"\]/);
    // The folder is made and owned before Herald drops to `node`.
    expect(runtime.indexOf('chown node:node')).toBeLessThan(runtime.indexOf('USER node'));
  });

  it("probes the API's /healthz, or a worker-only process's METRICS_PORT", async () => {
    const line = dockerfile.split('\n').find((l) => l.trim().startsWith('CMD ["node", "-e"'));
    expect(line).toBeDefined();
    const [, , script] = JSON.parse(line!.trim().slice('CMD '.length)) as string[];
    const port = new URL(herald.url).port;
    expect(await probe(script, { PORT: port })).toBe(0);
    expect(await probe(script, { PORT: String(closedPort) })).toBe(1);
    expect(await probe(script, { HERALD_ROLES: 'worker', METRICS_PORT: port })).toBe(0);
    expect(await probe(script, { HERALD_ROLES: 'worker', METRICS_PORT: String(closedPort) })).toBe(1);
  });

  it('refuses to start compose without an admin key instead of using a well-known one', () => {
    expect(compose).toMatch(/ADMIN_API_KEY: \$\{ADMIN_API_KEY:\?[^}]*openssl rand[^}]*\}/);
    expect(compose).not.toMatch(/ADMIN_API_KEY: \$\{ADMIN_API_KEY:-/);
  });

  it('gives the api and worker services healthchecks on /readyz and restart policies', async () => {
    for (const service of ['api', 'worker', 'api-cluster', 'worker-cluster']) {
      const block = compose.split(/\n {2}(?=[a-z-]+:\n)/).find((b) => b.startsWith(`${service}:\n`));
      expect(block, service).toBeDefined();
      expect(block, service).toContain('restart: unless-stopped');
      expect(block, service).toMatch(
        service.startsWith('api') ? /healthcheck: \*api-healthcheck/ : /healthcheck: \*worker-healthcheck/,
      );
      if (service.startsWith('worker')) expect(block, service).toContain("METRICS_PORT: '9464'");
    }
    const scripts = [...compose.matchAll(/- (fetch\('http:\/\/127\.0\.0\.1:(\d+)\/readyz'\)\S+)/g)];
    expect(scripts.map((m) => m[2]).sort()).toEqual(['3000', '9464']);
    for (const [, script, port] of scripts) {
      const here = script.replace(`:${port}/`, `:${new URL(herald.url).port}/`);
      expect(await probe(here), script).toBe(0);
      expect(await probe(script.replace(`:${port}/`, `:${closedPort}/`)), script).toBe(1);
    }
  });
});

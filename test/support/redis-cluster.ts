import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Redis from 'ioredis';
import { freePort, onPath, stopChild, waitForOutput } from './local-servers.mjs';

/** How often the harness asks the nodes how the cluster is doing while it waits. */
const POLL_MS = 100;

export interface RedisClusterOptions {
  /** Masters (each with one replica); 3 unless said otherwise. */
  masters?: number;
  /** How long start-up, a failover or a restart may take before the harness gives up. */
  timeoutMs?: number;
}

/** One line of CLUSTER NODES. */
interface NodeLine {
  id: string;
  /** host:port */
  address: string;
  flags: string[];
  /** The master's id, for a replica. */
  masterId: string | null;
  /** Slot ranges, e.g. ['0-5460']. */
  slots: string[];
}

/**
 * A Redis Cluster of private redis-server processes on free loopback ports (each master with one
 * replica, AOF on, each node in its own temporary folder), for tests that must see Herald on a real
 * cluster: keys spread over the masters, failover, reconnection. Every wait is a poll of the nodes'
 * own view (CLUSTER INFO / CLUSTER NODES) against a deadline, never a fixed sleep.
 */
export class RedisCluster {
  private readonly admins = new Map<string, Redis>();
  /** The slots each killed master held, to recognise the replica that takes them over. */
  private readonly slotsAtKill = new Map<string, string[]>();

  private constructor(
    private readonly root: string,
    private readonly processes: Map<string, { child: ChildProcess | null; args: string[] }>,
    private readonly timeoutMs: number,
  ) {}

  /** Starts the nodes, creates the cluster and resolves once every node says `cluster_state:ok`. */
  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    for (const cmd of ['redis-server', 'redis-cli']) {
      if (!onPath(cmd)) {
        throw new Error(
          `${cmd} is not on the PATH. Install it (Debian/Ubuntu: apt-get install -y redis-server) to run the Redis Cluster tests.`,
        );
      }
    }
    const count = (options.masters ?? 3) * 2;
    const root = mkdtempSync(join(tmpdir(), 'herald-redis-cluster-'));
    const processes = new Map<string, { child: ChildProcess | null; args: string[] }>();
    const cluster = new RedisCluster(root, processes, options.timeoutMs ?? 20_000);
    try {
      for (let i = 0; i < count; i++) {
        const port = await freePort();
        // The cluster bus gets its own free port instead of the default port + 10000 (maybe taken).
        const busPort = await freePort();
        const dir = join(root, String(port));
        mkdirSync(dir);
        const args = [
          '--port', String(port),
          '--bind', '127.0.0.1',
          '--dir', dir,
          '--cluster-enabled', 'yes',
          '--cluster-config-file', `nodes-${port}.conf`,
          '--cluster-node-timeout', '2000',
          '--cluster-port', String(busPort),
          '--appendonly', 'yes',
          '--save', '',
          '--maxmemory-policy', 'noeviction',
        ]; // prettier-ignore
        processes.set(`127.0.0.1:${port}`, { child: null, args });
      }
      await Promise.all(cluster.nodes.map((node) => cluster.spawnNode(node)));
      await cluster.run('redis-cli', [
        '--cluster',
        'create',
        ...cluster.nodes,
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ]);
      const masters = count / 2;
      await cluster.waitUntilOk('the new cluster to be ok', (lines) => {
        const withSlots = lines.filter((l) => l.flags.includes('master') && l.slots.length > 0);
        return withSlots.length === masters && withSlots.every((m) => lines.some((l) => l.masterId === m.id));
      });
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** Every node, `host:port`, whether running or not. */
  get nodes(): string[] {
    return [...this.processes.keys()];
  }

  /** The masters as the running nodes see them now. */
  async masters(): Promise<string[]> {
    const lines = await this.clusterNodes();
    return lines
      .filter((l) => isUp(l) && l.flags.includes('master') && l.slots.length > 0)
      .map((l) => l.address);
  }

  /** A running replica of that master, or null. */
  async replicaOf(master: string): Promise<string | null> {
    const lines = await this.clusterNodes();
    const m = lines.find((l) => l.address === master);
    const replica = lines.find((l) => l.masterId === m?.id && isUp(l) && this.isRunning(l.address));
    return replica?.address ?? null;
  }

  /** Stops a node with that signal (SIGKILL: no chance to save or say goodbye); resolves once it exited. */
  async kill(node: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.process(node);
    const line = (await this.clusterNodes()).find((l) => l.address === node);
    if (line?.flags.includes('master')) this.slotsAtKill.set(node, line.slots);
    this.admins.get(node)?.disconnect();
    this.admins.delete(node);
    const child = p.child;
    p.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  /** Starts a stopped node again on its port and folder (it rejoins from its nodes.conf); resolves once the cluster is ok. */
  async restart(node: string): Promise<void> {
    if (this.isRunning(node)) throw new Error(`${node} is running`);
    await this.spawnNode(node);
    // Back as a replica (its master was failed over) or as the master it was.
    await this.waitUntilOk(`${node} to rejoin`, (lines) =>
      lines.some((l) => l.address === node && isUp(l) && (l.masterId !== null || l.slots.length > 0)),
    );
  }

  /**
   * Resolves with the node that took over from a master that went down, once a replica has been
   * promoted to the old master's slots and every running node says the cluster is ok again.
   */
  async waitForFailover(oldMaster: string): Promise<string> {
    const slots = this.slotsAtKill.get(oldMaster);
    if (!slots?.length) throw new Error(`${oldMaster} was not a master when it was killed`);
    let promoted = '';
    await this.waitUntilOk(`a replica to take over from ${oldMaster}`, (lines) => {
      const heir = lines.find(
        (l) => l.address !== oldMaster && l.flags.includes('master') && isUp(l) && l.slots[0] === slots[0],
      );
      promoted = heir?.address ?? '';
      return heir !== undefined;
    });
    return promoted;
  }

  /** Keys matching `pattern` on each current master (SCAN on each), by `host:port`. */
  async keysPerMaster(pattern = '*'): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const master of await this.masters()) {
      let cursor = '0';
      let n = 0;
      do {
        const [next, keys] = await this.admin(master).scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        n += keys.length;
      } while (cursor !== '0');
      counts.set(master, n);
    }
    return counts;
  }

  /** Stops every node and removes their folders. */
  async stop(): Promise<void> {
    for (const admin of this.admins.values()) admin.disconnect();
    this.admins.clear();
    await Promise.all(
      [...this.processes.values()].map(async (p) => {
        if (p.child) await stopChild(p.child);
        p.child = null;
      }),
    );
    rmSync(this.root, { recursive: true, force: true });
  }

  private process(node: string) {
    const p = this.processes.get(node);
    if (!p) throw new Error(`${node} is not a node of this cluster`);
    return p;
  }

  private isRunning(node: string): boolean {
    const child = this.process(node).child;
    return child !== null && child.exitCode === null && child.signalCode === null;
  }

  private async spawnNode(node: string): Promise<void> {
    const p = this.process(node);
    const child = spawn('redis-server', p.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.child = child;
    await waitForOutput(child, /Ready to accept connections/, `redis-server ${node}`);
  }

  /** Runs a command to its end; rejects with its output when it fails. */
  private async run(cmd: string, args: string[]): Promise<void> {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${out.slice(-2000)}`);
  }

  /** A connection for admin commands to one node; it fails fast instead of queueing while the node is down. */
  private admin(node: string): Redis {
    let admin = this.admins.get(node);
    if (!admin) {
      const [host, port] = node.split(':');
      admin = new Redis({
        host,
        port: Number(port),
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => POLL_MS,
      });
      admin.on('error', () => undefined);
      this.admins.set(node, admin);
    }
    return admin;
  }

  private running(): string[] {
    return this.nodes.filter((n) => this.isRunning(n));
  }

  /** CLUSTER NODES from the first running node that answers. */
  private async clusterNodes(): Promise<NodeLine[]> {
    let lastError: unknown = new Error('no node is running');
    for (const node of this.running()) {
      try {
        return parseClusterNodes(String(await this.admin(node).call('CLUSTER', 'NODES')));
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  /**
   * Polls until every running node reports `cluster_state:ok` and `also(CLUSTER NODES)` holds, or
   * rejects after the timeout saying what it waited for and what the nodes said last.
   */
  private async waitUntilOk(what: string, also: (lines: NodeLine[]) => boolean = () => true): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    let last = '';
    for (;;) {
      try {
        const states = await Promise.all(
          this.running().map(async (node) => {
            const info = String(await this.admin(node).call('CLUSTER', 'INFO'));
            return /cluster_state:ok/.test(info) ? null : `${node}: ${/cluster_state:\w+/.exec(info)?.[0]}`;
          }),
        );
        const notOk = states.filter((s) => s !== null);
        if (notOk.length === 0 && also(await this.clusterNodes())) return;
        last = notOk.join(', ') || 'cluster ok, but not yet as expected';
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() > deadline)
        throw new Error(`gave up waiting for ${what} after ${this.timeoutMs} ms: ${last}`);
      await delay(POLL_MS);
    }
  }
}

function isUp(line: NodeLine): boolean {
  return !line.flags.includes('fail') && !line.flags.includes('fail?') && !line.flags.includes('noaddr');
}

/** Parses CLUSTER NODES: `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot>…`. */
export function parseClusterNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((row) => {
      const [id, addr, flags, master, , , , , ...slots] = row.trim().split(' ');
      return {
        id,
        address: addr.split('@')[0],
        flags: flags.split(','),
        masterId: master === '-' ? null : master,
        slots: slots.filter((s) => !s.startsWith('[')),
      };
    });
}

/** A private Redis Cluster (see RedisCluster), ok and ready. */
export function startRedisCluster(options?: RedisClusterOptions): Promise<RedisCluster> {
  return RedisCluster.start(options);
}

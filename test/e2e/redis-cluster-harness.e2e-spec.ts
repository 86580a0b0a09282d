import Redis, { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster';

const TAGS = Array.from({ length: 30 }, (_, i) => `t${i}`);

/** The harness the cluster tests run on: 3 masters and 3 replicas from the redis-server binary. */
describe('Redis Cluster test harness', () => {
  let cluster: RedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    const [host, port] = cluster.nodes[0].split(':');
    client = new Cluster([{ host, port: Number(port) }], { clusterRetryStrategy: () => 100 });
    client.on('error', () => undefined);
  });
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('starts 3 masters, each with its own replica', async () => {
    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    const replicas = await Promise.all(masters.map((m) => cluster.replicaOf(m)));
    expect(replicas.every((r) => r !== null && !masters.includes(r))).toBe(true);
    expect(new Set([...masters, ...replicas]).size).toBe(6);
    expect(cluster.nodes).toHaveLength(6);
  });

  it('puts keys with different hash tags on different masters, and one tag on one master', async () => {
    for (const tag of TAGS) {
      await client.set(`harness:{${tag}}:a`, tag);
      await client.set(`harness:{${tag}}:b`, tag);
    }
    const counts = await cluster.keysPerMaster('harness:*');
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(TAGS.length * 2);
    expect([...counts.values()].filter((n) => n > 0)).toHaveLength(3);
    for (const n of counts.values()) expect(n % 2).toBe(0); // a tag's two keys stay together
  });

  it('fails a killed master over to its replica; the old master comes back as a replica', async () => {
    const [master] = await cluster.masters();
    const replica = await cluster.replicaOf(master);
    const [host, port] = master.split(':');
    // Replication is asynchronous: make sure the replica has the keys before its master dies.
    const direct = new Redis({ host, port: Number(port) });
    expect(await direct.call('WAIT', '1', '5000')).toBe(1);
    direct.disconnect();

    await cluster.kill(master, 'SIGKILL');
    expect(await cluster.waitForFailover(master)).toBe(replica);
    expect(await cluster.masters()).toHaveLength(3);
    expect(await cluster.masters()).not.toContain(master);
    for (const tag of TAGS) expect(await client.get(`harness:{${tag}}:a`)).toBe(tag);

    await cluster.restart(master);
    expect(await cluster.replicaOf(replica!)).toBe(master);
  });
});

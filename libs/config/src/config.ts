import { parseSecretKey } from '@herald/core';
import { isIP } from 'node:net';
import { resolve } from 'node:path';

export type Role = 'api' | 'worker';

/** `auto`: pretty when stdout is a terminal, JSON lines otherwise. */
export type LogFormat = 'json' | 'pretty' | 'auto';

export interface TwilioConfig {
  accountSid: string;
  authToken: string;
  from: string | null;
  messagingServiceSid: string | null;
  /** Send Twilio API calls to this origin instead of Twilio's (a proxy or a Twilio-compatible server). */
  apiBaseUrl: string | null;
  /** Messages per second per sending number. */
  messagesPerSecond: number;
}

export interface SmtpConfig {
  url: string | null;
  from: string;
  /** Where emails are written as .eml files when no SMTP_URL is set. */
  outboxDir: string;
  poolSize: number;
  /** Messages per second across the pool (nodemailer rateLimit per second), 0 for none. */
  rateLimitPerSecond: number;
  /** `mailto:` address for List-Unsubscribe, if the operator has one. */
  unsubscribeMailto: string | null;
}

export interface LambdaConfig {
  accessKeyId: string | null;
  secretAccessKey: string | null;
  sessionToken: string | null;
  /** Endpoint override for LocalStack-style servers. */
  endpoint: string | null;
}

/** Where SNS ARNs say Herald's topics live (`arn:aws:sns:{region}:{accountId}:{topic}`). */
export interface SnsConfig {
  /** The region in ARNs, and the one SigV4 signatures must be scoped to. */
  region: string;
  accountId: string;
}

export interface HeraldConfig {
  port: number;
  host: string;
  publicBaseUrl: string;
  redisUrl: string;
  /**
   * A Redis Cluster instead of one server: seed nodes, and what every node is reached with (the
   * credentials and TLS of `rediss://user:pass@host:port` entries). Null for a single server.
   */
  redisCluster: {
    nodes: Array<{ host: string; port: number }>;
    username: string | null;
    password: string | null;
    tls: boolean;
  } | null;
  /** Hash-tag shards the work is spread over (queues, payloads, outcome streams, idempotency keys). */
  shards: number;
  /** The shards this process's workers consume (all by default). */
  workerShards: number[];
  /** Replicas a publish's writes must reach before its 202 (Redis WAIT), and how long to wait. */
  redisWaitReplicas: number;
  redisWaitTimeoutMs: number;
  /** True when REDIS_URL was not set: one-process mode may start a local redis-server. */
  redisUrlDefaulted: boolean;
  /** `postgres://…` or a folder for the embedded catalog (SQLite); `memory://` for tests. */
  databaseUrl: string;
  dataDir: string;
  adminApiKey: string | null;
  /** HERALD_SECRET_KEY (32 bytes): seals stored secrets; null: the one kept in the data folder. */
  secretKey: Buffer | null;
  roles: ReadonlySet<Role>;
  /**
   * With both roles in one process: the workers run on this many threads of their own beside the
   * API's event loop (HERALD_WORKER_THREADS, default 1); 0 runs them on the API's event loop.
   */
  workerThreads: number;
  /**
   * How far V8 lets a heap grow past what the last full collection kept, in percent
   * (HERALD_HEAP_GROWTH_PERCENT, default 30); 0 leaves it to V8, which lets a busy heap grow to up
   * to four times its live objects.
   */
  heapGrowthPercent: number;
  logLevel: string;
  logFormat: LogFormat;
  /** Where a worker-only process serves /healthz, /readyz and /metrics (0: any free port). */
  metricsPort: number;
  /** BullMQ key prefix; a Redis Cluster hash tag so every queue lands in one slot. */
  queuePrefix: string;
  maxBodyBytes: number;
  /** A publish Redis has not accepted within this time is answered 503 and never delivered. */
  publishTimeoutMs: number;
  /**
   * How long a topic, a subscription or a topic's subscription list read from the catalog is used
   * before it is read again, and an API key (which a deletion evicts at once anyway). A stale one
   * keeps serving while it is read again, and as long as the catalog cannot be read.
   */
  cacheFreshMs: { catalog: number; apiKeys: number };
  outboundAllowCidrs: string[];
  webhook: {
    connectTimeoutMs: number;
    headersTimeoutMs: number;
    bodyTimeoutMs: number;
    connectionsPerOrigin: number;
  };
  concurrency: { fanout: number; webhook: number; email: number; sms: number; function: number };
  worker: {
    /** A job whose worker died runs again after its lock expires (and the next stalled check). */
    lockDurationMs: number;
    stalledIntervalMs: number;
  };
  /** How long the catalog keeps history (see HistoryKeeper in libs/catalog). */
  history: {
    /** Messages and their delivery records. */
    retentionDays: number;
    /** Dead letters, handled or not; a message or delivery with a dead letter stays as long. */
    deadLetterRetentionDays: number;
  };
  smtp: SmtpConfig;
  twilio: TwilioConfig | null;
  lambda: LambdaConfig;
  sns: SnsConfig;
}

/** Up to this many shards (message ids name their shard in 10 bits). */
const MAX_SHARDS = 1024;

/**
 * `host:port,host:port,…` or `redis[s]://[user:pass@]host:port,…` (credentials and TLS from the first
 * entry that gives them apply to every node, as a cluster's nodes share them).
 */
function parseClusterNodes(raw: string | null, problems: string[]): HeraldConfig['redisCluster'] {
  if (raw === null) return null;
  const out: NonNullable<HeraldConfig['redisCluster']> = {
    nodes: [],
    username: null,
    password: null,
    tls: false,
  };
  for (const entry of raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    try {
      const u = new URL(/^rediss?:\/\//i.test(entry) ? entry : `redis://${entry}`);
      if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error('scheme');
      const port = Number(u.port || 6379);
      if (!u.hostname || !Number.isInteger(port)) throw new Error('host');
      out.nodes.push({ host: u.hostname.replace(/^\[|\]$/g, ''), port });
      if (u.protocol === 'rediss:') out.tls = true;
      if (u.password) out.password ??= decodeURIComponent(u.password);
      if (u.username) out.username ??= decodeURIComponent(u.username);
    } catch {
      problems.push(
        `REDIS_CLUSTER_NODES entry "${entry.replace(/\/\/[^@]*@/, '//***@')}" is not host:port or a redis:// URL`,
      );
    }
  }
  if (out.nodes.length === 0) problems.push('REDIS_CLUSTER_NODES lists no node');
  return out;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads and validates Herald's configuration from the environment; throws ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): HeraldConfig {
  const problems: string[] = [];
  const str = (name: string): string | null => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? null : v.trim();
  };
  const int = (name: string, dflt: number, min: number, max: number): number => {
    const v = str(name);
    if (v === null) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${v}")`);
      return dflt;
    }
    return n;
  };
  const url = (name: string, protocols: string[]): string | null => {
    const v = str(name);
    if (v === null) return null;
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) problems.push(`${name} must use ${protocols.join(' or ')}`);
    } catch {
      problems.push(`${name} is not a valid URL`);
    }
    return v;
  };

  const port = int('PORT', 3000, 0, 65535);
  const host = str('HOST') ?? '127.0.0.1';
  const dataDir = resolve(str('HERALD_DATA_DIR') ?? './.data');
  const publicHost =
    host === '0.0.0.0' || host === '::' ? 'localhost' : isIP(host) === 6 ? `[${host}]` : host;
  const publicBaseUrl = (
    url('PUBLIC_BASE_URL', ['http:', 'https:']) ?? `http://${publicHost}:${port}`
  ).replace(/\/+$/, '');
  const redisUrl = url('REDIS_URL', ['redis:', 'rediss:']);
  const redisCluster = parseClusterNodes(str('REDIS_CLUSTER_NODES'), problems);
  if (redisCluster && redisUrl) problems.push('set REDIS_URL or REDIS_CLUSTER_NODES, not both');
  const shards = int('HERALD_SHARDS', 1, 1, MAX_SHARDS);
  const workerShardsRaw = str('HERALD_WORKER_SHARDS');
  const workerShards = workerShardsRaw
    ? workerShardsRaw.split(',').map((v) => {
        const n = Number(v.trim());
        if (!Number.isInteger(n) || n < 0 || n >= shards)
          problems.push(`HERALD_WORKER_SHARDS lists shards 0..${shards - 1} (got "${v.trim()}")`);
        return n;
      })
    : Array.from({ length: shards }, (_, i) => i);
  const databaseUrl = str('DATABASE_URL') ?? resolve(dataDir, 'catalog');

  const rolesRaw = (str('HERALD_ROLES') ?? 'api,worker').split(',').map((r) => r.trim());
  const roles = new Set<Role>();
  for (const r of rolesRaw) {
    if (r === 'api' || r === 'worker') roles.add(r);
    else problems.push(`HERALD_ROLES may list only "api" and "worker" (got "${r}")`);
  }

  const logLevel = str('LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent`);
  }

  const logFormatRaw = str('LOG_FORMAT') ?? 'auto';
  const logFormat: LogFormat = logFormatRaw === 'json' || logFormatRaw === 'pretty' ? logFormatRaw : 'auto';
  if (logFormatRaw !== logFormat) problems.push(`LOG_FORMAT must be json or pretty (got "${logFormatRaw}")`);

  const outboundAllowCidrs = (str('OUTBOUND_ALLOW_CIDRS') ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  for (const cidr of outboundAllowCidrs) {
    const [addr, bits] = cidr.split('/');
    const family = isIP(addr ?? '');
    const prefix = Number(bits);
    if (
      !family ||
      bits === undefined ||
      !Number.isInteger(prefix) ||
      prefix < 0 ||
      prefix > (family === 4 ? 32 : 128)
    ) {
      problems.push(
        `OUTBOUND_ALLOW_CIDRS entry "${cidr}" is not a CIDR range such as 10.0.0.0/8 or fd00::/8`,
      );
    }
  }

  const adminApiKey = str('ADMIN_API_KEY');
  if (adminApiKey !== null && adminApiKey.length < 16)
    problems.push('ADMIN_API_KEY must be at least 16 characters');

  const secretKeyText = str('HERALD_SECRET_KEY');
  const secretKey = secretKeyText === null ? null : parseSecretKey(secretKeyText);
  if (secretKeyText !== null && secretKey === null) {
    problems.push(
      'HERALD_SECRET_KEY must be 32 bytes as 64 hex characters or base64 (openssl rand -base64 32)',
    );
  }

  const snsRegion = str('SNS_REGION') ?? 'us-east-1';
  if (!/^[a-z][a-z0-9-]{0,62}[a-z0-9]$/.test(snsRegion))
    problems.push(`SNS_REGION must be a region name such as us-east-1 (got "${snsRegion}")`);
  const snsAccountId = str('SNS_ACCOUNT_ID') ?? '000000000000';
  if (!/^\d{12}$/.test(snsAccountId))
    problems.push(`SNS_ACCOUNT_ID must be 12 digits (got "${snsAccountId}")`);

  const accountSid = str('TWILIO_ACCOUNT_SID');
  const authToken = str('TWILIO_AUTH_TOKEN');
  const twilioFrom = str('TWILIO_FROM');
  const messagingServiceSid = str('TWILIO_MESSAGING_SERVICE_SID');
  let twilio: TwilioConfig | null = null;
  if (accountSid || authToken) {
    if (!accountSid || !authToken)
      problems.push('TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set together');
    if (!twilioFrom && !messagingServiceSid) {
      problems.push('Twilio needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID');
    }
    twilio = {
      accountSid: accountSid ?? '',
      authToken: authToken ?? '',
      from: twilioFrom,
      messagingServiceSid,
      apiBaseUrl: url('TWILIO_API_BASE_URL', ['http:', 'https:']),
      messagesPerSecond: int('TWILIO_MESSAGES_PER_SECOND', 1, 1, 10_000),
    };
  }

  const config: HeraldConfig = {
    port,
    host,
    publicBaseUrl,
    redisUrl: redisUrl ?? 'redis://127.0.0.1:6379',
    redisUrlDefaulted: redisUrl === null && redisCluster === null,
    redisCluster,
    shards,
    workerShards: [...new Set(workerShards)].sort((a, b) => a - b),
    redisWaitReplicas: int('REDIS_WAIT_REPLICAS', 0, 0, 16),
    redisWaitTimeoutMs: int('REDIS_WAIT_TIMEOUT_MS', 500, 10, 10_000),
    databaseUrl,
    dataDir,
    adminApiKey,
    secretKey,
    roles,
    workerThreads: int('HERALD_WORKER_THREADS', 1, 0, 16),
    heapGrowthPercent: int('HERALD_HEAP_GROWTH_PERCENT', 30, 0, 300),
    logLevel,
    logFormat,
    metricsPort: int('METRICS_PORT', 9464, 0, 65535),
    queuePrefix: str('HERALD_QUEUE_PREFIX') ?? '{herald}',
    maxBodyBytes: int('MAX_BODY_BYTES', 262_144, 1024, 10 * 1024 * 1024),
    publishTimeoutMs: int('PUBLISH_TIMEOUT_MS', 2_000, 500, 60_000),
    cacheFreshMs: {
      catalog: int('CATALOG_CACHE_FRESH_MS', 30_000, 100, 3_600_000),
      apiKeys: int('API_KEY_CACHE_FRESH_MS', 60_000, 100, 3_600_000),
    },
    outboundAllowCidrs,
    webhook: {
      connectTimeoutMs: int('WEBHOOK_CONNECT_TIMEOUT_MS', 5_000, 100, 60_000),
      headersTimeoutMs: int('WEBHOOK_HEADERS_TIMEOUT_MS', 15_000, 100, 300_000),
      bodyTimeoutMs: int('WEBHOOK_BODY_TIMEOUT_MS', 15_000, 100, 300_000),
      connectionsPerOrigin: int('WEBHOOK_CONNECTIONS_PER_ORIGIN', 64, 1, 1024),
    },
    concurrency: {
      fanout: int('FANOUT_CONCURRENCY', 4, 1, 64),
      webhook: int('WEBHOOK_CONCURRENCY', 100, 1, 2000),
      email: int('EMAIL_CONCURRENCY', 10, 1, 500),
      sms: int('SMS_CONCURRENCY', 10, 1, 500),
      function: int('FUNCTION_CONCURRENCY', 50, 1, 2000),
    },
    worker: {
      lockDurationMs: int('WORKER_LOCK_DURATION_MS', 30_000, 1_000, 600_000),
      stalledIntervalMs: int('WORKER_STALLED_INTERVAL_MS', 30_000, 1_000, 600_000),
    },
    history: {
      retentionDays: int('RETENTION_DAYS', 30, 1, 3650),
      deadLetterRetentionDays: int('DEAD_LETTER_RETENTION_DAYS', 90, 1, 3650),
    },
    smtp: {
      url: url('SMTP_URL', ['smtp:', 'smtps:']),
      from: str('EMAIL_FROM') ?? 'Herald <herald@localhost>',
      outboxDir: resolve(str('EMAIL_OUTBOX_DIR') ?? resolve(dataDir, 'outbox')),
      poolSize: int('SMTP_POOL_SIZE', 5, 1, 100),
      rateLimitPerSecond: int('SMTP_RATE_LIMIT_PER_SECOND', 0, 0, 10_000),
      unsubscribeMailto: str('EMAIL_UNSUBSCRIBE_MAILTO'),
    },
    twilio,
    lambda: {
      accessKeyId: str('AWS_ACCESS_KEY_ID'),
      secretAccessKey: str('AWS_SECRET_ACCESS_KEY'),
      sessionToken: str('AWS_SESSION_TOKEN'),
      endpoint: url('LAMBDA_ENDPOINT_URL', ['http:', 'https:']),
    },
    sns: { region: snsRegion, accountId: snsAccountId },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

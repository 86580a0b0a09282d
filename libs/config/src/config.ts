import { isIP } from 'node:net';
import { resolve } from 'node:path';

export type Role = 'api' | 'worker';

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

export interface HeraldConfig {
  port: number;
  host: string;
  publicBaseUrl: string;
  redisUrl: string;
  /** True when REDIS_URL was not set: one-process mode may start a local redis-server. */
  redisUrlDefaulted: boolean;
  /** `postgres://…` or a folder for the embedded catalog (SQLite); `memory://` for tests. */
  databaseUrl: string;
  dataDir: string;
  adminApiKey: string | null;
  roles: ReadonlySet<Role>;
  logLevel: string;
  /** BullMQ key prefix; a Redis Cluster hash tag so every queue lands in one slot. */
  queuePrefix: string;
  maxBodyBytes: number;
  /** A publish Redis has not accepted within this time is answered 503 and never delivered. */
  publishTimeoutMs: number;
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
    redisUrlDefaulted: redisUrl === null,
    databaseUrl,
    dataDir,
    adminApiKey,
    roles,
    logLevel,
    queuePrefix: str('HERALD_QUEUE_PREFIX') ?? '{herald}',
    maxBodyBytes: int('MAX_BODY_BYTES', 262_144, 1024, 10 * 1024 * 1024),
    publishTimeoutMs: int('PUBLISH_TIMEOUT_MS', 2_000, 500, 60_000),
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
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

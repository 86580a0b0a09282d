import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('has working defaults for one-process mode', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      publicBaseUrl: 'http://127.0.0.1:3000',
      redisUrl: 'redis://127.0.0.1:6379',
      redisUrlDefaulted: true,
      adminApiKey: null,
      queuePrefix: '{herald}',
      maxBodyBytes: 262_144,
      outboundAllowCidrs: [],
      history: { retentionDays: 30, deadLetterRetentionDays: 90 },
      twilio: null,
      logFormat: 'auto',
      metricsPort: 9464,
      secretKey: null,
      sns: { region: 'us-east-1', accountId: '000000000000' },
      publishTimeoutMs: 2000,
      cacheFreshMs: { catalog: 30_000, apiKeys: 60_000 },
      heapGrowthPercent: 30,
    });
    expect([...c.roles]).toEqual(['api', 'worker']);
    expect(c.databaseUrl).toMatch(/\.data\/catalog$/);
  });

  it('reads what is set', () => {
    const c = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      REDIS_URL: 'redis://redis:6379',
      DATABASE_URL: 'postgres://u@db/herald',
      HERALD_ROLES: 'worker',
      OUTBOUND_ALLOW_CIDRS: '10.0.0.0/8, fd00::/8',
      TWILIO_ACCOUNT_SID: 'AC123',
      TWILIO_AUTH_TOKEN: 'token',
      TWILIO_FROM: '+14155550100',
      LOG_FORMAT: 'json',
      METRICS_PORT: '9100',
      HERALD_SECRET_KEY: 'ab'.repeat(32),
      SNS_REGION: 'eu-central-1',
      SNS_ACCOUNT_ID: '123456789012',
      RETENTION_DAYS: '7',
      DEAD_LETTER_RETENTION_DAYS: '365',
      CATALOG_CACHE_FRESH_MS: '1000',
      API_KEY_CACHE_FRESH_MS: '1500',
      HERALD_HEAP_GROWTH_PERCENT: '0',
    });
    expect(c.heapGrowthPercent).toBe(0);
    expect(c.secretKey).toEqual(Buffer.alloc(32, 0xab));
    expect(c).toMatchObject({
      sns: { region: 'eu-central-1', accountId: '123456789012' },
      port: 8080,
      publicBaseUrl: 'http://localhost:8080',
      redisUrlDefaulted: false,
      databaseUrl: 'postgres://u@db/herald',
      outboundAllowCidrs: ['10.0.0.0/8', 'fd00::/8'],
      twilio: { accountSid: 'AC123', from: '+14155550100', messagesPerSecond: 1 },
      logFormat: 'json',
      metricsPort: 9100,
      history: { retentionDays: 7, deadLetterRetentionDays: 365 },
      cacheFreshMs: { catalog: 1000, apiKeys: 1500 },
    });
    expect([...c.roles]).toEqual(['worker']);
  });

  it.each<[Record<string, string>, RegExp]>([
    [{ PORT: 'eighty' }, /PORT must be an integer/],
    [{ PORT: '70000' }, /PORT must be an integer from 0 to 65535/],
    [{ REDIS_URL: 'http://redis' }, /REDIS_URL must use redis: or rediss:/],
    [{ PUBLIC_BASE_URL: 'not a url' }, /PUBLIC_BASE_URL is not a valid URL/],
    [{ HERALD_ROLES: 'api,scheduler' }, /HERALD_ROLES may list only/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ LOG_FORMAT: 'xml' }, /LOG_FORMAT must be json or pretty \(got "xml"\)/],
    [{ METRICS_PORT: '65536' }, /METRICS_PORT must be an integer from 0 to 65535/],
    [{ OUTBOUND_ALLOW_CIDRS: '10.0.0.0/33' }, /"10.0.0.0\/33" is not a CIDR range/],
    [{ OUTBOUND_ALLOW_CIDRS: 'intranet' }, /"intranet" is not a CIDR range/],
    [{ ADMIN_API_KEY: 'short' }, /ADMIN_API_KEY must be at least 16 characters/],
    [{ TWILIO_ACCOUNT_SID: 'AC1', TWILIO_FROM: '+1' }, /set together/],
    [{ TWILIO_ACCOUNT_SID: 'AC1', TWILIO_AUTH_TOKEN: 't' }, /TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID/],
    [{ SMTP_URL: 'https://mail' }, /SMTP_URL must use smtp: or smtps:/],
    [{ HERALD_SECRET_KEY: 'ab'.repeat(16) }, /HERALD_SECRET_KEY must be 32 bytes/],
    [{ SNS_REGION: 'US East' }, /SNS_REGION must be a region name/],
    [{ SNS_ACCOUNT_ID: '12345' }, /SNS_ACCOUNT_ID must be 12 digits/],
    [{ CATALOG_CACHE_FRESH_MS: '50' }, /CATALOG_CACHE_FRESH_MS must be an integer from 100 to 3600000/],
    [{ API_KEY_CACHE_FRESH_MS: 'soon' }, /API_KEY_CACHE_FRESH_MS must be an integer/],
    [{ RETENTION_DAYS: '0' }, /RETENTION_DAYS must be an integer from 1 to 3650/],
    [{ RETENTION_DAYS: '30.5' }, /RETENTION_DAYS must be an integer/],
    [
      { DEAD_LETTER_RETENTION_DAYS: 'forever' },
      /DEAD_LETTER_RETENTION_DAYS must be an integer from 1 to 3650/,
    ],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('lists every problem at once and never echoes the admin key or the secret key', () => {
    try {
      loadConfig({ PORT: 'x', LOG_LEVEL: 'loud', ADMIN_API_KEY: 'tiny-secret', HERALD_SECRET_KEY: 'sesame' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toHaveLength(4);
      expect((err as Error).message).not.toContain('tiny-secret');
      expect((err as Error).message).not.toContain('sesame');
    }
  });
});

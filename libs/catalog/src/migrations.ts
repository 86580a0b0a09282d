import type { SqlDialect } from './sql-client';

/**
 * The PostgreSQL schema, as an ordered list: migration n is `POSTGRES_MIGRATIONS[n - 1]`. Append
 * only; never edit one that has shipped. Keep the SQL valid on PostgreSQL 15.
 *
 * Ids and names are `COLLATE "C"` so keyset pagination orders bytes the same way on every server,
 * whatever locale its cluster was created with (ULIDs then sort by time).
 */
const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE topics (
    name text COLLATE "C" PRIMARY KEY,
    display_name text,
    description text,
    delivery_policy jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  );

  CREATE TABLE subscriptions (
    id text COLLATE "C" PRIMARY KEY,
    topic text COLLATE "C" NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
    protocol text NOT NULL CHECK (protocol IN ('webhook', 'email', 'sms', 'function')),
    endpoint text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'active', 'paused', 'disabled', 'unsubscribed')),
    filter_policy jsonb,
    filter_policy_scope text NOT NULL DEFAULT 'attributes' CHECK (filter_policy_scope IN ('attributes', 'body')),
    raw_delivery boolean NOT NULL DEFAULT false,
    delivery_policy jsonb,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    secret text,
    previous_secret text,
    previous_secret_expires_at timestamptz,
    confirmation_token_hash text,
    confirmation_expires_at timestamptz,
    unsubscribe_token text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    confirmed_at timestamptz,
    UNIQUE (topic, protocol, endpoint)
  );
  CREATE INDEX subscriptions_topic_status_id ON subscriptions (topic, status, id);
  CREATE INDEX subscriptions_protocol_endpoint ON subscriptions (protocol, endpoint);
  CREATE INDEX subscriptions_confirmation_token_hash ON subscriptions (confirmation_token_hash)
    WHERE confirmation_token_hash IS NOT NULL;

  CREATE TABLE api_keys (
    id text COLLATE "C" PRIMARY KEY,
    name text NOT NULL,
    key_hash text NOT NULL UNIQUE,
    scopes text[] NOT NULL,
    topics text[],
    created_at timestamptz NOT NULL DEFAULT now()
  );

  -- The payload is kept so dead letters can be inspected and redriven after the Redis copy expires.
  CREATE TABLE messages (
    id text COLLATE "C" PRIMARY KEY,
    topic text COLLATE "C" NOT NULL,
    subject text,
    body jsonb,
    body_by_protocol jsonb NOT NULL DEFAULT '{}'::jsonb,
    attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
    published_at timestamptz NOT NULL,
    matched integer NOT NULL DEFAULT 0,
    filtered_out integer NOT NULL DEFAULT 0,
    fanned_out_at timestamptz
  );

  -- No foreign key to subscriptions: a delivery's history outlives its subscription.
  -- (run, last_attempt) is the position of the newest attempt applied, so late events never regress it.
  CREATE TABLE deliveries (
    id text COLLATE "C" PRIMARY KEY,
    message_id text COLLATE "C" NOT NULL,
    subscription_id text COLLATE "C" NOT NULL,
    topic text COLLATE "C" NOT NULL,
    protocol text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'retrying', 'delivered', 'dead', 'cancelled')),
    attempt_count integer NOT NULL DEFAULT 0,
    run integer NOT NULL DEFAULT 1,
    last_attempt integer NOT NULL DEFAULT 0,
    last_error text,
    last_status_code integer,
    provider_message_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX deliveries_message_id ON deliveries (message_id, id);
  CREATE INDEX deliveries_subscription_id ON deliveries (subscription_id, id);
  CREATE INDEX deliveries_provider_message_id ON deliveries (provider_message_id)
    WHERE provider_message_id IS NOT NULL;
  -- Deleting a topic cancels its unfinished deliveries; this keeps that cheap on a large table.
  CREATE INDEX deliveries_unfinished_topic ON deliveries (topic) WHERE status IN ('pending', 'retrying');

  -- delivery_status is the delivery's status after the attempt: it lets a delivery row written after
  -- its attempts (events applied out of order) start from the right state.
  CREATE TABLE attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id text COLLATE "C" NOT NULL,
    run integer NOT NULL,
    attempt integer NOT NULL,
    at timestamptz NOT NULL,
    duration_ms integer NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
    status_code integer,
    error text,
    delivery_status text NOT NULL,
    provider_message_id text,
    UNIQUE (delivery_id, run, attempt)
  );

  CREATE TABLE dead_letters (
    id text COLLATE "C" PRIMARY KEY,
    delivery_id text COLLATE "C" NOT NULL,
    run integer NOT NULL,
    message_id text COLLATE "C" NOT NULL,
    subscription_id text COLLATE "C" NOT NULL,
    topic text COLLATE "C" NOT NULL,
    protocol text NOT NULL,
    endpoint text NOT NULL,
    attempts integer NOT NULL,
    reason text NOT NULL,
    last_error text,
    last_status_code integer,
    dead_at timestamptz NOT NULL,
    UNIQUE (delivery_id, run)
  );
  CREATE INDEX dead_letters_topic_id ON dead_letters (topic, id);
  CREATE INDEX dead_letters_subscription_id ON dead_letters (subscription_id, id);
  `,
  // 2: attempts live in their delivery's row (a JSON array), so recording a delivery made on its first
  // attempt writes one row instead of a delivery row, its update and an attempt row; a topic's messages
  // can be listed newest first.
  `
  ALTER TABLE deliveries ADD COLUMN attempts jsonb NOT NULL DEFAULT '[]'::jsonb;
  UPDATE deliveries d SET attempts = a.list
  FROM (
    SELECT delivery_id,
           jsonb_agg(jsonb_build_object(
             'run', run, 'attempt', attempt,
             'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'durationMs', duration_ms,
             'outcome', CASE WHEN outcome = 'retry' AND delivery_status = 'dead' THEN 'failed' ELSE outcome END,
             'statusCode', status_code, 'error', error)
             ORDER BY run, attempt) AS list
    FROM attempts GROUP BY delivery_id
  ) a
  WHERE a.delivery_id = d.id;
  DROP TABLE attempts;
  CREATE INDEX messages_topic_id ON messages (topic, id);
  `,
  // 3: the SNS API: SigV4 credentials of API keys (the secret sealed under HERALD_SECRET_KEY), topic tags,
  // each subscription's delivery format, and the keys SNS-format messages are signed with.
  `
  ALTER TABLE api_keys ADD COLUMN access_key_id text;
  ALTER TABLE api_keys ADD COLUMN sealed_secret text;
  CREATE UNIQUE INDEX api_keys_access_key_id ON api_keys (access_key_id);

  ALTER TABLE subscriptions ADD COLUMN format text NOT NULL DEFAULT 'herald' CHECK (format IN ('herald', 'sns'));

  CREATE TABLE topic_tags (
    topic text NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
    tag_key text NOT NULL,
    tag_value text NOT NULL,
    PRIMARY KEY (topic, tag_key)
  );

  CREATE TABLE sns_signing_keys (
    id text PRIMARY KEY,
    sealed_private_key text NOT NULL,
    certificate text NOT NULL,
    created_at timestamptz NOT NULL
  );
  `,
  // 4: months of history. messages and deliveries are partitioned by day (UTC) of the message's time,
  // which their ids carry: a ULID's first 10 characters encode its time in ms and sort by it, and a
  // delivery's id starts with its message's ULID. The partition key is the id itself, so the primary
  // keys need no new column and every lookup by id reaches one partition. Day partitions run without
  // a gap from the oldest day with rows (looking ten years back, the longest retention) to a week
  // ahead; a "before" and an "after" partition cover the rest of the id range, so an insert never
  // fails, and (unlike a DEFAULT partition) they keep the partitions ordered, so a keyset page in id
  // order reads the partitions one after the other and stops early. Retention drops whole days (see
  // history-keeper.ts). Existing rows are copied into the partitions of their days. Deliveries are
  // listed by message through their id range now, so the (message_id, id) index goes.
  `
  -- The ULID time prefix of a time in ms (Herald's ulidTime), and back (first 10 characters).
  CREATE FUNCTION herald_ulid_time(ms bigint) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $f$
    SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((ms >> (5 * (9 - i))) & 31)::int + 1, 1), ''
                      ORDER BY i)
    FROM generate_series(0, 9) AS i
  $f$;
  CREATE FUNCTION herald_ulid_ms(ulid text) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $f$
    SELECT sum((strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(ulid, i + 1, 1)) - 1)::bigint << (5 * (9 - i)))::bigint
    FROM generate_series(0, 9) AS i
  $f$;

  -- The same columns (types, collations, defaults, checks) as before, partitioned by id.
  ALTER TABLE messages RENAME TO messages_v2;
  ALTER INDEX messages_pkey RENAME TO messages_v2_pkey;
  ALTER INDEX messages_topic_id RENAME TO messages_v2_topic_id;
  CREATE TABLE messages (LIKE messages_v2 INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (id);
  ALTER TABLE messages ADD PRIMARY KEY (id);
  CREATE INDEX messages_topic_id ON messages (topic, id);

  ALTER TABLE deliveries RENAME TO deliveries_v2;
  ALTER INDEX deliveries_pkey RENAME TO deliveries_v2_pkey;
  DROP INDEX deliveries_message_id;
  ALTER INDEX deliveries_subscription_id RENAME TO deliveries_v2_subscription_id;
  ALTER INDEX deliveries_provider_message_id RENAME TO deliveries_v2_provider_message_id;
  ALTER INDEX deliveries_unfinished_topic RENAME TO deliveries_v2_unfinished_topic;
  CREATE TABLE deliveries (LIKE deliveries_v2 INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (id);
  ALTER TABLE deliveries ADD PRIMARY KEY (id);
  CREATE INDEX deliveries_subscription_id ON deliveries (subscription_id, id);
  CREATE INDEX deliveries_provider_message_id ON deliveries (provider_message_id)
    WHERE provider_message_id IS NOT NULL;
  CREATE INDEX deliveries_unfinished_topic ON deliveries (topic) WHERE status IN ('pending', 'retrying');

  DO $do$
  DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    first date;
    day date;
    lo bigint;
    t record;
  BEGIN
    -- The oldest day with rows within ten years, from the smallest id of each table from then on (an
    -- index lookup); older rows go to the "before" partitions.
    lo := extract(epoch FROM (today - 3650)::timestamp)::bigint * 1000;
    SELECT min((to_timestamp(herald_ulid_ms(substr(id, 5, 10)) / 1000.0) AT TIME ZONE 'UTC')::date) INTO first
    FROM (SELECT (SELECT id FROM messages_v2 WHERE id >= 'msg_' || herald_ulid_time(lo) AND id < 'msg_8'
                  ORDER BY id LIMIT 1) AS id
          UNION ALL
          SELECT (SELECT id FROM deliveries_v2 WHERE id >= 'dlv_' || herald_ulid_time(lo) AND id < 'dlv_8'
                  ORDER BY id LIMIT 1)) oldest
    WHERE id ~ '^[a-z]{3}_[0-7][0-9A-HJKMNP-TV-Z]{9}';
    first := LEAST(today, COALESCE(first, today));
    FOR t IN SELECT * FROM (VALUES ('messages', 'msg_'), ('deliveries', 'dlv_')) AS v (name, prefix) LOOP
      lo := extract(epoch FROM first::timestamp)::bigint * 1000;
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (MINVALUE) TO (%L)',
        t.name || '_before', t.name, t.prefix || herald_ulid_time(lo));
      FOR day IN SELECT generate_series(first, today + 7, interval '1 day')::date LOOP
        lo := extract(epoch FROM day::timestamp)::bigint * 1000;
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
          t.name || '_p' || to_char(day, 'YYYYMMDD'), t.name, t.prefix || herald_ulid_time(lo),
          t.prefix || herald_ulid_time(lo + 86400000));
      END LOOP;
      lo := extract(epoch FROM (today + 8)::timestamp)::bigint * 1000;
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (MAXVALUE)',
        t.name || '_after', t.name, t.prefix || herald_ulid_time(lo));
    END LOOP;
  END
  $do$;

  INSERT INTO messages SELECT * FROM messages_v2;
  INSERT INTO deliveries SELECT * FROM deliveries_v2;
  DROP TABLE messages_v2;
  DROP TABLE deliveries_v2;

  -- Retention keeps the message and delivery of a dead letter not yet handled (history-keeper.ts).
  CREATE INDEX dead_letters_message_id ON dead_letters (message_id);
  `,
  // 5: why a pending subscription's confirmation failed (shown on the subscription), and the hash of the
  // token that confirmed it, so that following the link again answers "already confirmed" rather
  // than 404 (the token itself stays retired: it cannot bring an unsubscribed subscription back).
  `
  ALTER TABLE subscriptions ADD COLUMN confirmation_error text;
  ALTER TABLE subscriptions ADD COLUMN confirmation_error_at timestamptz;
  ALTER TABLE subscriptions ADD COLUMN confirmed_token_hash text;
  CREATE INDEX subscriptions_confirmed_token_hash ON subscriptions (confirmed_token_hash)
    WHERE confirmed_token_hash IS NOT NULL;
  `,
];

/**
 * The embedded catalog's schema (SQLite), the same tables as PostgreSQL's latest version: JSON in TEXT,
 * times as ISO 8601 text (which sorts as time), booleans as 0/1, text arrays as JSON. Its own list,
 * appended to in step with the PostgreSQL one.
 */
const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE topics (
    name TEXT PRIMARY KEY,
    display_name TEXT,
    description TEXT,
    delivery_policy TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  );

  CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    topic TEXT NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
    protocol TEXT NOT NULL CHECK (protocol IN ('webhook', 'email', 'sms', 'function')),
    endpoint TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'paused', 'disabled', 'unsubscribed')),
    filter_policy TEXT,
    filter_policy_scope TEXT NOT NULL DEFAULT 'attributes' CHECK (filter_policy_scope IN ('attributes', 'body')),
    raw_delivery INTEGER NOT NULL DEFAULT 0,
    delivery_policy TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    secret TEXT,
    previous_secret TEXT,
    previous_secret_expires_at TEXT,
    confirmation_token_hash TEXT,
    confirmation_expires_at TEXT,
    unsubscribe_token TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    confirmed_at TEXT,
    UNIQUE (topic, protocol, endpoint)
  );
  CREATE INDEX subscriptions_topic_status_id ON subscriptions (topic, status, id);
  CREATE INDEX subscriptions_protocol_endpoint ON subscriptions (protocol, endpoint);
  CREATE INDEX subscriptions_confirmation_token_hash ON subscriptions (confirmation_token_hash)
    WHERE confirmation_token_hash IS NOT NULL;

  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    topics TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  );

  CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    subject TEXT,
    body TEXT,
    body_by_protocol TEXT NOT NULL DEFAULT '{}',
    attributes TEXT NOT NULL DEFAULT '{}',
    published_at TEXT NOT NULL,
    matched INTEGER NOT NULL DEFAULT 0,
    filtered_out INTEGER NOT NULL DEFAULT 0,
    fanned_out_at TEXT
  );
  CREATE INDEX messages_topic_id ON messages (topic, id);

  CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    protocol TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'retrying', 'delivered', 'dead', 'cancelled')),
    attempt_count INTEGER NOT NULL DEFAULT 0,
    run INTEGER NOT NULL DEFAULT 1,
    last_attempt INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_status_code INTEGER,
    provider_message_id TEXT,
    attempts TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  );
  CREATE INDEX deliveries_message_id ON deliveries (message_id, id);
  CREATE INDEX deliveries_subscription_id ON deliveries (subscription_id, id);
  CREATE INDEX deliveries_provider_message_id ON deliveries (provider_message_id)
    WHERE provider_message_id IS NOT NULL;
  CREATE INDEX deliveries_unfinished_topic ON deliveries (topic) WHERE status IN ('pending', 'retrying');

  CREATE TABLE dead_letters (
    id TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    run INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    protocol TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT NOT NULL,
    last_error TEXT,
    last_status_code INTEGER,
    dead_at TEXT NOT NULL,
    UNIQUE (delivery_id, run)
  );
  CREATE INDEX dead_letters_topic_id ON dead_letters (topic, id);
  CREATE INDEX dead_letters_subscription_id ON dead_letters (subscription_id, id);
  `,
  // 2: the SNS API, as PostgreSQL's migration 3.
  `
  ALTER TABLE api_keys ADD COLUMN access_key_id TEXT;
  ALTER TABLE api_keys ADD COLUMN sealed_secret TEXT;
  CREATE UNIQUE INDEX api_keys_access_key_id ON api_keys (access_key_id);

  ALTER TABLE subscriptions ADD COLUMN format TEXT NOT NULL DEFAULT 'herald' CHECK (format IN ('herald', 'sns'));

  CREATE TABLE topic_tags (
    topic TEXT NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
    tag_key TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (topic, tag_key)
  );

  CREATE TABLE sns_signing_keys (
    id TEXT PRIMARY KEY,
    sealed_private_key TEXT NOT NULL,
    certificate TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  `,
  // 3 (PostgreSQL's 4): deliveries are listed by message through their id range; retention keeps the
  // message and delivery of a dead letter not yet handled.
  `
  DROP INDEX deliveries_message_id;
  CREATE INDEX dead_letters_message_id ON dead_letters (message_id);
  `,
  // 4 (PostgreSQL's 5): the last confirmation error of a subscription, and the token that confirmed it.
  `
  ALTER TABLE subscriptions ADD COLUMN confirmation_error TEXT;
  ALTER TABLE subscriptions ADD COLUMN confirmation_error_at TEXT;
  ALTER TABLE subscriptions ADD COLUMN confirmed_token_hash TEXT;
  CREATE INDEX subscriptions_confirmed_token_hash ON subscriptions (confirmed_token_hash)
    WHERE confirmed_token_hash IS NOT NULL;
  `,
];

/** The migrations of one engine, in order. */
export function migrationsFor(dialect: SqlDialect): readonly string[] {
  return dialect === 'postgres' ? POSTGRES_MIGRATIONS : SQLITE_MIGRATIONS;
}

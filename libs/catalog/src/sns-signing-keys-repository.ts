import type { SnsSigningKeyRecord } from './catalog-types';
import type { SqlClient } from './sql-client';

interface SnsSigningKeyRow {
  id: string;
  sealed_private_key: string;
  certificate: string;
  created_at: Date | string;
}

const COLUMNS = 'id, sealed_private_key, certificate, created_at';

const toRecord = (row: SnsSigningKeyRow): SnsSigningKeyRecord => ({
  id: row.id,
  sealedPrivateKey: row.sealed_private_key,
  certificate: row.certificate,
  createdAt: new Date(row.created_at),
});

/** The RSA keys that sign SNS-format messages; the newest signs, every one's certificate stays served. */
export class SnsSigningKeysRepository {
  constructor(private readonly sql: SqlClient) {}

  async add(key: SnsSigningKeyRecord): Promise<void> {
    await this.sql.query(
      'INSERT INTO sns_signing_keys (id, sealed_private_key, certificate, created_at) VALUES ($1, $2, $3, $4)',
      [key.id, key.sealedPrivateKey, key.certificate, key.createdAt.toISOString()],
    );
  }

  /** The key that signs now: the newest one. */
  async newest(): Promise<SnsSigningKeyRecord | null> {
    const { rows } = await this.sql.query<SnsSigningKeyRow>(
      `SELECT ${COLUMNS} FROM sns_signing_keys ORDER BY created_at DESC, id DESC LIMIT 1`,
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async get(id: string): Promise<SnsSigningKeyRecord | null> {
    const { rows } = await this.sql.query<SnsSigningKeyRow>(
      `SELECT ${COLUMNS} FROM sns_signing_keys WHERE id = $1`,
      [id],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }
}

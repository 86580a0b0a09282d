import type { ApiKeyCredentials, ApiKeyRecord, CreateApiKeyInput } from './catalog-types';
import { pageCursor, pageLimit, toPage, type Page, type PageRequest } from './page';
import { API_KEY_COLUMNS, toApiKey, type ApiKeyRow } from './row-mappers';
import type { SqlClient } from './sql-client';
import { textParam } from './sql-values';

/** API keys, stored only as the sha256 of the key. */
export class ApiKeysRepository {
  constructor(private readonly sql: SqlClient) {}

  async create(input: CreateApiKeyInput): Promise<ApiKeyRecord> {
    const { rows } = await this.sql.query<ApiKeyRow>(
      `INSERT INTO api_keys (id, name, key_hash, scopes, topics) VALUES ($1, $2, $3, $4::text[], $5::text[])
       RETURNING ${API_KEY_COLUMNS}`,
      [
        input.id,
        textParam(input.name),
        input.keyHash,
        [...input.scopes],
        input.topics ? [...input.topics] : null,
      ],
    );
    return toApiKey(rows[0]);
  }

  /** Gives a key AWS credentials (SigV4 for the SNS API); false if there is no such key. */
  async attachCredentials(id: string, accessKeyId: string, sealedSecret: string): Promise<boolean> {
    const { rowCount } = await this.sql.query(
      'UPDATE api_keys SET access_key_id = $2, sealed_secret = $3 WHERE id = $1',
      [id, accessKeyId, sealedSecret],
    );
    return rowCount > 0;
  }

  /** The key an access key id belongs to, with its sealed secret (SigV4 verification). */
  async findCredentials(accessKeyId: string): Promise<ApiKeyCredentials | null> {
    const { rows } = await this.sql.query<ApiKeyRow & { sealed_secret: string | null }>(
      `SELECT ${API_KEY_COLUMNS}, sealed_secret FROM api_keys WHERE access_key_id = $1`,
      [accessKeyId],
    );
    const row = rows[0];
    return row?.sealed_secret ? { key: toApiKey(row), sealedSecret: row.sealed_secret } : null;
  }

  async get(id: string): Promise<ApiKeyRecord | null> {
    const { rows } = await this.sql.query<ApiKeyRow>(
      `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = $1`,
      [id],
    );
    return rows[0] ? toApiKey(rows[0]) : null;
  }

  /** The key whose sha256 hex is `hash` (authentication). */
  async findByHash(hash: string): Promise<ApiKeyRecord | null> {
    const { rows } = await this.sql.query<ApiKeyRow>(
      `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1`,
      [hash],
    );
    return rows[0] ? toApiKey(rows[0]) : null;
  }

  async list(page?: PageRequest): Promise<Page<ApiKeyRecord>> {
    const limit = pageLimit(page);
    const { rows } = await this.sql.query<ApiKeyRow>(
      `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id > $1 ORDER BY id LIMIT $2`,
      [pageCursor(page), limit + 1],
    );
    return toPage(rows, limit, toApiKey, (k) => k.id);
  }

  async delete(id: string): Promise<boolean> {
    const { rows } = await this.sql.query('DELETE FROM api_keys WHERE id = $1 RETURNING id', [id]);
    return rows.length > 0;
  }
}

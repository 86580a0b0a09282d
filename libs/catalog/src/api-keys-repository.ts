import type { ApiKeyRecord, CreateApiKeyInput } from './catalog-types';
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

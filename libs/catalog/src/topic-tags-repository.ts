import type { SqlClient } from './sql-client';

/** Topic tags (the SNS API's TagResource): a key-value map per topic, gone with its topic. */
export class TopicTagsRepository {
  constructor(private readonly sql: SqlClient) {}

  /** The topic's tags ordered by key. */
  async list(topic: string): Promise<Map<string, string>> {
    const { rows } = await this.sql.query<{ tag_key: string; tag_value: string }>(
      'SELECT tag_key, tag_value FROM topic_tags WHERE topic = $1 ORDER BY tag_key',
      [topic],
    );
    return new Map(rows.map((r) => [r.tag_key, r.tag_value]));
  }

  /**
   * Adds the tags (a key already there takes the new value) unless that would leave the topic with more
   * than `max` tags; false then, and nothing changes. A topic that does not exist fails the foreign key.
   */
  async put(topic: string, tags: ReadonlyMap<string, string>, max: number): Promise<boolean> {
    return this.sql
      .transaction(async (tx) => {
        for (const [key, value] of tags) {
          await tx.query(
            `INSERT INTO topic_tags (topic, tag_key, tag_value) VALUES ($1, $2, $3)
           ON CONFLICT (topic, tag_key) DO UPDATE SET tag_value = excluded.tag_value`,
            [topic, key, value],
          );
        }
        const { rows } = await tx.query<{ n: number | string }>(
          'SELECT count(*) AS n FROM topic_tags WHERE topic = $1',
          [topic],
        );
        if (Number(rows[0].n) <= max) return true;
        throw new TagLimitError();
      })
      .catch((err: unknown) => {
        if (err instanceof TagLimitError) return false;
        throw err;
      });
  }

  async remove(topic: string, keys: readonly string[]): Promise<void> {
    for (const key of keys)
      await this.sql.query('DELETE FROM topic_tags WHERE topic = $1 AND tag_key = $2', [topic, key]);
  }
}

/** Rolls the tagging transaction back. */
class TagLimitError extends Error {}

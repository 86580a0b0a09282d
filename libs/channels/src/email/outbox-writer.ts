import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes emails as `.eml` files into a folder (the no-SMTP development mode). A file appears under its
 * final name only once complete: it is written under a hidden temporary name in the same folder, then renamed.
 */
export class OutboxWriter {
  private ready: Promise<void> | null = null;

  constructor(readonly dir: string) {}

  /** Writes one message and returns the file's path: `<ISO time>-<messageId>-<deliveryId>.eml`. */
  async write(
    raw: Buffer,
    ids: { messageId: string; deliveryId: string },
    now = new Date(),
  ): Promise<string> {
    this.ready ??= mkdir(this.dir, { recursive: true }).then(() => undefined);
    try {
      await this.ready;
    } catch (err) {
      // Let a later send try again (the folder may be created or mounted meanwhile).
      this.ready = null;
      throw err;
    }
    // Colons are not portable in file names; the stamp still sorts by time.
    const stamp = now.toISOString().replace(/:/g, '-');
    const name = `${stamp}-${safe(ids.messageId)}-${safe(ids.deliveryId)}.eml`;
    const target = join(this.dir, name);
    const tmp = join(this.dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeFile(tmp, raw, { flag: 'wx' });
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return target;
  }
}

/** Ids come from Herald, but a file name must never be able to climb out of the folder. */
function safe(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100);
}

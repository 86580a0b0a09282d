import type { SnsSigningKeysRepository } from '@herald/catalog';
import type { SecretBox } from '@herald/core';
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { createSigningKey } from './signing-certificate';
import type { SnsSigner } from './sns-documents';

interface LoadedKey {
  id: string;
  privateKey: KeyObject;
  loadedAt: number;
}

/** How long a process signs with the key it loaded before it looks for a newer one (a rotation elsewhere). */
const REFRESH_MS = 60_000;
const sealContext = (id: string) => `sns-signing-key:${id}`;

/**
 * Herald's SNS signing keys, kept in the catalog with the private key sealed under HERALD_SECRET_KEY:
 * the newest one signs; every one's certificate stays served, for messages signed before a rotation.
 * The first use makes the first key.
 */
export class SnsKeyring implements SnsSigner {
  private loading: Promise<LoadedKey> | null = null;
  private readonly certificates = new Map<string, string>();

  constructor(
    private readonly keys: SnsSigningKeysRepository,
    private readonly box: SecretBox,
    private readonly refreshMs = REFRESH_MS,
  ) {}

  async sign(stringToSign: string): Promise<{ signature: string; keyId: string }> {
    const key = await this.current();
    return {
      signature: sign('sha256', Buffer.from(stringToSign, 'utf8'), key.privateKey).toString('base64'),
      keyId: key.id,
    };
  }

  /** The id of the key that signs now, made if there is none yet. */
  async currentKeyId(): Promise<string> {
    return (await this.current()).id;
  }

  /** Makes a new key that signs from now on (in other processes within a minute); old certificates stay served. */
  async rotate(): Promise<{ id: string; createdAt: Date }> {
    const created = await this.create();
    this.loading = Promise.resolve(created.loaded);
    return { id: created.loaded.id, createdAt: created.createdAt };
  }

  /** A key's certificate (PEM), or null for an id that never was one. */
  async certificate(id: string): Promise<string | null> {
    const hit = this.certificates.get(id);
    if (hit) return hit;
    if (!/^[0-9a-f]{32}$/.test(id)) return null;
    const record = await this.keys.get(id);
    if (!record) return null;
    this.certificates.set(id, record.certificate);
    return record.certificate;
  }

  private current(): Promise<LoadedKey> {
    const loading = this.loading;
    if (loading) {
      return loading.then((key) => (Date.now() - key.loadedAt < this.refreshMs ? key : this.reload()));
    }
    return this.reload();
  }

  private reload(): Promise<LoadedKey> {
    const loading = this.load();
    this.loading = loading;
    // A failed load (catalog down) is tried again by the next signature, not remembered.
    loading.catch(() => {
      if (this.loading === loading) this.loading = null;
    });
    return loading;
  }

  private async load(): Promise<LoadedKey> {
    const newest = await this.keys.newest();
    if (!newest) return (await this.create()).loaded;
    this.certificates.set(newest.id, newest.certificate);
    const pem = this.box.open(newest.sealedPrivateKey, sealContext(newest.id));
    return { id: newest.id, privateKey: createPrivateKey(pem), loadedAt: Date.now() };
  }

  private async create(): Promise<{ loaded: LoadedKey; createdAt: Date }> {
    const createdAt = new Date();
    const key = createSigningKey(createdAt);
    await this.keys.add({
      id: key.id,
      sealedPrivateKey: this.box.seal(key.privateKeyPem, sealContext(key.id)),
      certificate: key.certificatePem,
      createdAt,
    });
    this.certificates.set(key.id, key.certificatePem);
    return {
      loaded: { id: key.id, privateKey: createPrivateKey(key.privateKeyPem), loadedAt: Date.now() },
      createdAt,
    };
  }
}

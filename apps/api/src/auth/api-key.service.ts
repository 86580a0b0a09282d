import { Catalog } from '@herald/catalog';
import type { HeraldConfig } from '@herald/config';
import { newId, randomToken, RefreshingCache, SecretBox, type Scope } from '@herald/core';
import { HERALD_CONFIG } from '@herald/runtime';
import { ChangeNotifier } from '@herald/queue';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from './principal';

/** A key's SHA-256 (crypto.hash: one call, no Hash object; every request pays it). */
const keyDigest = (key: string): Buffer => hash('sha256', key, 'buffer');

export const hashApiKey = (key: string): string => keyDigest(key).toString('hex');

const ADMIN_PRINCIPAL: Principal = {
  keyId: 'bootstrap-admin',
  name: 'ADMIN_API_KEY',
  scopes: new Set<Scope>(['admin']),
  topics: null,
};

/** AWS's shape: 20 upper-case letters and digits (base32 here), 40 characters of secret. */
const newAccessKeyId = () => `HKIA${base32(randomBytes(10))}`;
const newSecretAccessKey = () => randomBytes(30).toString('base64');
const sealContext = (keyId: string) => `api-key:${keyId}`;

function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** A principal and the SigV4 secret its access key signs with. */
export interface AccessKeyPrincipal {
  principal: Principal;
  secretAccessKey: string;
}

/** Issues API keys (shown once, stored as a SHA-256 hash) and resolves a presented key to a principal. */
@Injectable()
export class ApiKeyService implements OnModuleInit {
  private readonly adminHash: Buffer | null;
  /**
   * hash → principal, so a publish does not cost a catalog read; unknown keys are never cached. A
   * known key is trusted for API_KEY_CACHE_FRESH_MS (60 s) without a catalog read (a deletion evicts
   * it everywhere at once); after that it is read again in the background while it keeps working, so
   * keys in use survive a catalog outage.
   */
  private readonly known: RefreshingCache<Principal>;
  /** access key id → principal and opened secret, so a SigV4 request costs no catalog read or decryption. */
  private readonly knownAccessKeys: RefreshingCache<AccessKeyPrincipal>;

  constructor(
    private readonly catalog: Catalog,
    private readonly changes: ChangeNotifier,
    private readonly box: SecretBox,
    @Inject(HERALD_CONFIG) config: HeraldConfig,
  ) {
    this.adminHash = config.adminApiKey ? keyDigest(config.adminApiKey) : null;
    this.known = new RefreshingCache({ freshMs: config.cacheFreshMs.apiKeys, max: 10_000 });
    this.knownAccessKeys = new RefreshingCache({ freshMs: config.cacheFreshMs.apiKeys, max: 10_000 });
  }

  async onModuleInit(): Promise<void> {
    await this.changes.onChange((c) => {
      if (c.kind === 'api-key') this.evict(c.id);
    });
  }

  async resolve(key: string): Promise<Principal | null> {
    return this.resolveDigest(keyDigest(key));
  }

  /** The principal of a key known by its SHA-256 hex (what a queue-dashboard session keeps). */
  async resolveHash(keyHash: string): Promise<Principal | null> {
    if (!/^[0-9a-f]{64}$/.test(keyHash)) return null;
    return this.resolveDigest(Buffer.from(keyHash, 'hex'), keyHash);
  }

  /** The admin key, else a catalog key (from the cache when it was seen lately), by its SHA-256. */
  private async resolveDigest(digest: Buffer, keyHash = digest.toString('hex')): Promise<Principal | null> {
    if (this.adminHash && timingSafeEqual(this.adminHash, digest)) return ADMIN_PRINCIPAL;
    const principal = await this.known.get(keyHash, async () => {
      const found = await this.catalog.apiKeys.findByHash(keyHash);
      if (!found) return undefined;
      return { keyId: found.id, name: found.name, scopes: new Set(found.scopes), topics: found.topics };
    });
    return principal ?? null;
  }

  /** The principal of an SigV4 access key id, with its secret; null for an unknown id. */
  async resolveAccessKey(accessKeyId: string): Promise<AccessKeyPrincipal | null> {
    if (!/^HKIA[A-Z2-7]{16}$/.test(accessKeyId)) return null;
    const entry = await this.knownAccessKeys.get(accessKeyId, async () => {
      const found = await this.catalog.apiKeys.findCredentials(accessKeyId);
      if (!found) return undefined;
      return {
        principal: {
          keyId: found.key.id,
          name: found.key.name,
          scopes: new Set(found.key.scopes),
          topics: found.key.topics,
        },
        secretAccessKey: this.box.open(found.sealedSecret, sealContext(found.key.id)),
      };
    });
    return entry ?? null;
  }

  /** Deletes a key; it stops working in this process at once and in every other one on the notice. */
  async delete(id: string): Promise<boolean> {
    const deleted = await this.catalog.apiKeys.delete(id);
    if (deleted) {
      this.evict(id);
      await this.changes.notify({ kind: 'api-key', id });
    }
    return deleted;
  }

  private evict(keyId: string): void {
    this.known.invalidateWhere((principal) => principal.keyId === keyId);
    this.knownAccessKeys.invalidateWhere((entry) => entry.principal.keyId === keyId);
  }

  /** Issues a key, and with `awsCredentials` an access key id and secret for SigV4 (the SNS API). */
  async create(input: { name: string; scopes: Scope[]; topics: string[] | null; awsCredentials?: boolean }) {
    const key = `hk_${randomToken(32)}`;
    const id = newId('key');
    const created = await this.catalog.apiKeys.create({
      id,
      name: input.name,
      keyHash: hashApiKey(key),
      scopes: input.scopes,
      topics: input.topics,
    });
    if (!input.awsCredentials) return { ...created, key, secretAccessKey: null };
    const accessKeyId = newAccessKeyId();
    const secretAccessKey = newSecretAccessKey();
    try {
      await this.catalog.apiKeys.attachCredentials(
        id,
        accessKeyId,
        this.box.seal(secretAccessKey, sealContext(id)),
      );
    } catch (err) {
      // No key without the credentials it was asked for.
      await this.catalog.apiKeys.delete(id);
      throw err;
    }
    return { ...created, key, accessKeyId, secretAccessKey };
  }
}

import { Catalog } from '@herald/catalog';
import type { HeraldConfig } from '@herald/config';
import { newId, randomToken, type Scope } from '@herald/core';
import { HERALD_CONFIG } from '@herald/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Principal } from './principal';

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');

const ADMIN_PRINCIPAL: Principal = {
  keyId: 'bootstrap-admin',
  scopes: new Set<Scope>(['admin']),
  topics: null,
};

/** Issues API keys (shown once, stored as a SHA-256 hash) and resolves a presented key to a principal. */
@Injectable()
export class ApiKeyService {
  private readonly adminHash: Buffer | null;

  constructor(
    private readonly catalog: Catalog,
    @Inject(HERALD_CONFIG) config: HeraldConfig,
  ) {
    this.adminHash = config.adminApiKey ? Buffer.from(hashApiKey(config.adminApiKey), 'hex') : null;
  }

  async resolve(key: string): Promise<Principal | null> {
    const hash = hashApiKey(key);
    if (this.adminHash && timingSafeEqual(this.adminHash, Buffer.from(hash, 'hex'))) return ADMIN_PRINCIPAL;
    const found = await this.catalog.apiKeys.findByHash(hash);
    if (!found) return null;
    return { keyId: found.id, scopes: new Set(found.scopes), topics: found.topics };
  }

  async create(input: { name: string; scopes: Scope[]; topics: string[] | null }) {
    const key = `hk_${randomToken(32)}`;
    const id = newId('key');
    const created = await this.catalog.apiKeys.create({
      id,
      name: input.name,
      keyHash: hashApiKey(key),
      scopes: input.scopes,
      topics: input.topics,
    });
    return { ...created, key };
  }
}

import type { HeraldConfig } from '@herald/config';
import { randomToken } from '@herald/core';
import { HERALD_CONFIG, REDIS } from '@herald/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { createHash } from 'node:crypto';

export const ADMIN_SESSION_COOKIE = 'herald_admin';
/** A queue-dashboard session lasts a working day; signing out (or deleting the key) ends it sooner. */
export const ADMIN_SESSION_SECONDS = 8 * 3600;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Browser sessions for the queue dashboard, which a browser cannot reach with a Bearer header. The
 * cookie holds a random token; Redis keeps only its hash, pointing at the key's hash, so every request
 * re-checks the key itself (a deleted key ends its sessions) and the key never leaves sessionStorage.
 */
@Injectable()
export class AdminSessions {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {}

  /** Opens a session for the key with this hash; returns the cookie's token. */
  async open(keyHash: string): Promise<string> {
    const token = randomToken(32);
    await this.redis.set(this.redisKey(token), keyHash, 'EX', ADMIN_SESSION_SECONDS);
    return token;
  }

  /** The key hash a session token stands for, or null. */
  async keyHashOf(token: string): Promise<string | null> {
    return this.redis.get(this.redisKey(token));
  }

  async close(token: string): Promise<void> {
    await this.redis.del(this.redisKey(token));
  }

  private redisKey(token: string): string {
    return `${this.config.queuePrefix}:admin-session:${sha256(token)}`;
  }
}

/** The session token in a Cookie header, if any. */
export function sessionTokenOf(cookieHeader: string | undefined): string | null {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === ADMIN_SESSION_COOKIE) return value.join('=') || null;
  }
  return null;
}

/** Set-Cookie for a session (or, with a null token, one that clears it). */
export function sessionCookie(token: string | null, secure: boolean): string {
  const attributes = [
    'Path=/admin',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${token ? ADMIN_SESSION_SECONDS : 0}`,
  ];
  if (secure) attributes.push('Secure');
  return [`${ADMIN_SESSION_COOKIE}=${token ?? ''}`, ...attributes].join('; ');
}

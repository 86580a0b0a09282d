import type { Scope } from '@herald/core';
import { forbidden } from '../problem/problem';

/** Who is calling: an API key's scopes and, when limited, the topics it may act on. */
export interface Principal {
  keyId: string;
  name: string;
  scopes: ReadonlySet<Scope>;
  /** null: every topic. */
  topics: readonly string[] | null;
}

export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.has('admin') || p.scopes.has(scope);
}

export function isAdmin(p: Principal): boolean {
  return p.scopes.has('admin');
}

export function canUseTopic(p: Principal, topic: string): boolean {
  return p.topics === null || p.topics.includes(topic);
}

/** Throws 403 unless the key may act on `topic` (AccessPolicy decides where a route finds it). */
export function assertTopic(p: Principal, topic: string): void {
  if (!canUseTopic(p, topic)) throw forbidden(`This API key may not use topic "${topic}".`);
}

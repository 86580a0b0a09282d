import type { Scope } from '@herald/core';

/** Who is calling: an API key's scopes and, when limited, the topics it may act on. */
export interface Principal {
  keyId: string;
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

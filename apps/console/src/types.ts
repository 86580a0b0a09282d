/** What the /v1 API answers, as far as the console reads it (see the OpenAPI document at /docs). */

export type Scope = 'admin' | 'publish' | 'subscribe' | 'read';
export const SCOPES: Scope[] = ['admin', 'publish', 'subscribe', 'read'];
export const PROTOCOLS = ['webhook', 'email', 'sms', 'function'] as const;
export const SUBSCRIPTION_STATUSES = ['pending', 'active', 'paused', 'disabled', 'unsubscribed'] as const;

export interface Principal {
  id: string;
  name: string;
  scopes: Scope[];
  topics: string[] | null;
}

export const can = (p: Principal, scope: Scope): boolean =>
  p.scopes.includes('admin') || p.scopes.includes(scope);
export const isUnlimitedAdmin = (p: Principal): boolean => p.scopes.includes('admin') && p.topics === null;

export interface Topic {
  name: string;
  displayName: string | null;
  description: string | null;
  deliveryPolicy: Record<string, unknown> | null;
  createdAt: string;
  subscriptionCounts?: Record<string, number>;
}

export interface Subscription {
  id: string;
  topic: string;
  protocol: string;
  endpoint: string;
  status: string;
  filterPolicy: Record<string, unknown> | null;
  filterPolicyScope: string;
  rawDelivery: boolean;
  deliveryPolicy: Record<string, unknown> | null;
  createdAt: string;
  confirmedAt: string | null;
  secret?: string;
  [more: string]: unknown;
}

export interface Attempt {
  number: number;
  run?: number;
  at: string;
  durationMs: number;
  outcome: string;
  statusCode: number | null;
  error: string | null;
}

export interface Delivery {
  id: string;
  messageId: string;
  subscriptionId: string;
  topic: string;
  protocol: string;
  status: string;
  attemptCount: number;
  lastError: string | null;
  lastStatusCode: number | null;
  updatedAt: string;
  attempts?: Attempt[];
}

export interface Message {
  id: string;
  topic: string;
  subject: string | null;
  attributes: Record<string, unknown>;
  publishedAt: string;
  status: string;
  counts: Record<string, number>;
  body?: unknown;
}

export interface DeadLetter {
  id: string;
  deliveryId: string;
  messageId: string;
  subscriptionId: string;
  topic: string;
  protocol: string;
  endpoint: string;
  attempts: number;
  reason: string;
  lastError: string | null;
  lastStatusCode: number | null;
  deadAt: string;
}

export interface DeadLetterDetail extends Omit<DeadLetter, 'attempts'> {
  message: { body: unknown; subject: string | null; attributes: Record<string, unknown> } | null;
  attempts: Attempt[];
}

export interface ApiKey {
  id: string;
  name: string;
  scopes: Scope[];
  topics: string[] | null;
  createdAt: string;
  key?: string;
}

import { Catalog } from '@herald/catalog';
import { SCOPES, type Scope } from '@herald/core';
import { MessageStore } from '@herald/queue';
import { Injectable } from '@nestjs/common';
import { forbidden } from '../problem/problem';
import { DLQ_ID, DLV_ID, MSG_ID, SUB_ID } from '../resource-ids';
import { assertTopic, hasScope, type Principal } from './principal';

/**
 * Where a route finds the topic it acts on, so that a topic-limited key is held to its topics on every
 * route (the README's "API keys and topic limits"):
 * - `name`: the `{name}` path parameter;
 * - `subscription`, `message`, `delivery`, `dead-letter`: the topic of the resource `{id}` names;
 * - `list`: a list or bulk action; a `topic` in the query or body must be the key's, and the handler
 *   passes `allowedTopics()` to the repository so that the query itself leaves other topics out;
 * - `new-topic`: the `name` of the topic being created;
 * - `new-key`: the key being created must lie within the caller's scopes and topics;
 * - `unlimited`: only a key without a topic limit may use the route (listing and deleting API keys);
 * - `self`: the route is about the calling key itself (any key may read what it is).
 */
export type TopicRule =
  | 'self'
  | 'name'
  | 'subscription'
  | 'message'
  | 'delivery'
  | 'dead-letter'
  | 'list'
  | 'new-topic'
  | 'new-key'
  | 'unlimited';

export interface AccessRequest {
  params?: unknown;
  query?: unknown;
  body?: unknown;
}

/** The topics a key's lists are filtered to in the query; null for a key without a limit. */
export const allowedTopics = (p: Principal): readonly string[] | null => p.topics;

const field = (source: unknown, name: string): unknown =>
  typeof source === 'object' && source !== null ? (source as Record<string, unknown>)[name] : undefined;

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

/**
 * The one place topic limits are decided. It runs in the guard, before validation: a field that is not
 * even the right type is left to the validation pipe (400), and an id that names nothing to the handler
 * (404), since neither can reach another topic's data.
 */
@Injectable()
export class AccessPolicy {
  constructor(
    private readonly catalog: Catalog,
    private readonly store: MessageStore,
  ) {}

  async authorize(p: Principal, rule: TopicRule, req: AccessRequest): Promise<void> {
    switch (rule) {
      case 'self':
        return;
      case 'unlimited':
        if (p.topics !== null) throw forbidden('Only an API key without a topic limit may manage API keys.');
        return;
      case 'new-key':
        return this.checkNewKey(p, req.body);
      case 'name':
        return this.checkTopic(p, field(req.params, 'name'));
      case 'new-topic':
        return this.checkTopic(p, field(req.body, 'name'));
      case 'list':
        this.checkTopic(p, field(req.query, 'topic'));
        return this.checkTopic(p, field(req.body, 'topic'));
      default:
        if (p.topics === null) return;
        return this.checkTopic(p, await this.topicOf(rule, field(req.params, 'id')));
    }
  }

  private checkTopic(p: Principal, topic: unknown): void {
    if (typeof topic === 'string') assertTopic(p, topic);
  }

  /** A key may hand on only what it has: no scope it lacks, no topic outside its list. */
  private checkNewKey(p: Principal, body: unknown): void {
    const scopes = strings(field(body, 'scopes'));
    const missing = scopes.filter(
      (s) => (SCOPES as readonly string[]).includes(s) && !hasScope(p, s as Scope),
    );
    if (missing.length > 0) {
      throw forbidden(`This API key cannot grant the ${missing.map((s) => `"${s}"`).join(', ')} scope.`);
    }
    if (p.topics === null) return;
    const topics = field(body, 'topics');
    if (topics === undefined || topics === null) {
      throw forbidden('This API key is limited to topics: a key it creates must list topics within its own.');
    }
    for (const topic of strings(topics)) this.checkTopic(p, topic);
  }

  private async topicOf(rule: TopicRule, id: unknown): Promise<string | undefined> {
    if (typeof id !== 'string') return undefined;
    switch (rule) {
      case 'subscription':
        return SUB_ID.test(id) ? (await this.catalog.subscriptions.get(id))?.topic : undefined;
      case 'delivery':
        return DLV_ID.test(id) ? (await this.catalog.deliveries.get(id))?.topic : undefined;
      case 'dead-letter':
        return DLQ_ID.test(id) ? (await this.catalog.deadLetters.get(id))?.entry.topic : undefined;
      case 'message': {
        if (!MSG_ID.test(id)) return undefined;
        // Accepted but not fanned out yet: only the payload in Redis knows the topic.
        const known = (await this.catalog.messages.get(id)) ?? (await this.store.getPayload(id));
        return known?.topic;
      }
      default:
        return undefined;
    }
  }
}

import { Catalog } from '@herald/catalog';
import type { Subscription } from '@herald/core';
import {
  element,
  entryMap,
  fields,
  heraldProtocolFor,
  invalidParameter,
  memberList,
  notFound,
  SnsArns,
  snsProtocolOf,
  snsSubscriptionAttributes,
  subscriptionAttributePatch,
  type SubscriptionPatchInput,
  type Xml,
} from '@herald/sns';
import { Injectable } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import { canUseTopic } from '../auth/principal';
import type { CreateSubscriptionDto } from '../subscriptions/subscription.dto';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';
import { assertSnsTopic, principalOf, snsErrorFrom, type SnsAction, type SnsCall } from './sns-call';
import { nextToken, SNS_PAGE, SnsTopicActions } from './sns-topic-actions';

const SUB_ID = /^sub_[0-9A-Z]{26}$/;
/** As on `/v1` (the create DTO's limit). */
const ENDPOINT_MAX = 2048;
const subscriptionNotFound = () => notFound('Subscription does not exist');

/**
 * The subscription actions. SNS's Unsubscribe keeps the subscription as `unsubscribed` (so its
 * UnsubscribeConfirmation can restore it); the SNS API treats such a subscription as gone.
 */
@Injectable()
export class SnsSubscriptionActions {
  constructor(
    private readonly catalog: Catalog,
    private readonly subs: SubscriptionsService,
    private readonly topics: SnsTopicActions,
    private readonly arns: SnsArns,
  ) {}

  actions(): Record<string, SnsAction> {
    return {
      Subscribe: { scope: 'subscribe', run: (c) => this.subscribe(c) },
      ConfirmSubscription: { scope: null, run: (c) => this.confirmSubscription(c) },
      Unsubscribe: { scope: 'subscribe', run: (c) => this.unsubscribe(c) },
      ListSubscriptions: { scope: 'read', run: (c) => this.listSubscriptions(c) },
      ListSubscriptionsByTopic: { scope: 'read', run: (c) => this.listSubscriptionsByTopic(c) },
      GetSubscriptionAttributes: { scope: 'read', run: (c) => this.getAttributes(c) },
      SetSubscriptionAttributes: { scope: 'subscribe', run: (c) => this.setAttributes(c) },
    };
  }

  private arn(sub: Pick<Subscription, 'topic' | 'id'>): string {
    return this.arns.subscription(sub.topic, sub.id);
  }

  /** The subscription a `SubscriptionArn` names, unless it is unsubscribed (gone, for SNS). */
  private async subscriptionOf(call: SnsCall): Promise<Subscription> {
    const parsed = this.arns.parseSubscription(call.params.required('SubscriptionArn'));
    if (!parsed.ok) throw invalidParameter('SubscriptionArn', parsed.reason);
    assertSnsTopic(call, parsed.value.topic, this.arns);
    const sub = await this.catalog.subscriptions.get(parsed.value.id);
    if (!sub || sub.topic !== parsed.value.topic || sub.status === 'unsubscribed')
      throw subscriptionNotFound();
    return sub;
  }

  private async subscribe(call: SnsCall): Promise<Xml[]> {
    const { params } = call;
    const topic = this.topics.topicOf(call);
    const snsProtocol = params.required('Protocol').toLowerCase();
    const endpoint = params.required('Endpoint');
    if (endpoint.length > ENDPOINT_MAX)
      throw invalidParameter('Endpoint', `at most ${ENDPOINT_MAX} characters`);
    const { protocol, format } = heraldProtocolFor(snsProtocol, endpoint);
    const patch: SubscriptionPatchInput = {};
    for (const [name, value] of params.stringMap('Attributes'))
      Object.assign(patch, subscriptionAttributePatch(name, value, snsProtocol));
    const dto: CreateSubscriptionDto = { protocol, endpoint, format, ...patch } as CreateSubscriptionDto;
    let result: Awaited<ReturnType<SubscriptionsService['create']>>;
    try {
      result = await this.subs.create(topic, dto, principalOf(call));
      let sub: Subscription = result.subscription;
      if (!result.created) {
        if (sub.status === 'unsubscribed') {
          if (Object.keys(patch).length > 0) await this.subs.update(sub.id, patch);
          sub = await this.subs.resubscribe(sub);
        } else if (differs(sub, patch)) {
          throw invalidParameter('Attributes', 'Subscription already exists with different attributes');
        }
      }
      const pending = sub.status === 'pending' && params.boolean('ReturnSubscriptionArn') !== true;
      return [element('SubscriptionArn', pending ? 'pending confirmation' : this.arn(sub))];
    } catch (err) {
      throw snsErrorFrom(err);
    }
  }

  /** The token is the credential: no signature needed (the SubscribeURL is a plain GET of this). */
  private async confirmSubscription(call: SnsCall): Promise<Xml[]> {
    const topic = this.arns.parseTopic(call.params.required('TopicArn'));
    if (!topic.ok) throw invalidParameter('TopicArn', topic.reason);
    const token = call.params.required('Token');
    const confirmed = token.length <= 200 ? await this.subs.confirm(token, topic.value) : null;
    if (!confirmed) throw invalidParameter('Token');
    return [element('SubscriptionArn', this.arn(confirmed.subscription))];
  }

  private async unsubscribe(call: SnsCall): Promise<null> {
    await this.subs.unsubscribeAsSns(await this.subscriptionOf(call));
    return null;
  }

  /** An UnsubscribeURL: the subscription's unsubscribe token is the credential. */
  async unsubscribeByToken(subscriptionArn: string, token: string): Promise<void> {
    const parsed = this.arns.parseSubscription(subscriptionArn);
    if (!parsed.ok) throw invalidParameter('SubscriptionArn', parsed.reason);
    const sub = token.length <= 200 ? await this.subs.findByUnsubscribeToken(token) : null;
    if (!sub || sub.id !== parsed.value.id) throw invalidParameter('Token');
    await this.subs.unsubscribeAsSns(sub);
  }

  private members(subs: Subscription[]): Xml[][] {
    return subs.map((s) => [
      element('SubscriptionArn', s.status === 'pending' ? 'PendingConfirmation' : this.arn(s)),
      element('Owner', this.arns.config.accountId),
      element('Protocol', snsProtocolOf(s)),
      element('Endpoint', s.endpoint),
      element('TopicArn', this.arns.topic(s.topic)),
    ]);
  }

  private async listSubscriptions(call: SnsCall): Promise<Xml[]> {
    const page = await this.catalog.subscriptions.listAll({
      limit: SNS_PAGE,
      cursor: nextToken(call.params, SUB_ID),
    });
    const p = principalOf(call);
    const visible = page.items.filter((s) => s.status !== 'unsubscribed' && canUseTopic(p, s.topic));
    return [memberList('Subscriptions', this.members(visible)), ...fields({ NextToken: page.nextCursor })];
  }

  private async listSubscriptionsByTopic(call: SnsCall): Promise<Xml[]> {
    const topic = this.topics.topicOf(call);
    if (!(await this.catalog.topics.get(topic))) throw notFound('Topic does not exist');
    const page = await this.catalog.subscriptions.list(
      topic,
      {},
      { limit: SNS_PAGE, cursor: nextToken(call.params, SUB_ID) },
    );
    const visible = page.items.filter((s) => s.status !== 'unsubscribed');
    return [memberList('Subscriptions', this.members(visible)), ...fields({ NextToken: page.nextCursor })];
  }

  private async getAttributes(call: SnsCall): Promise<Xml[]> {
    const sub = await this.subscriptionOf(call);
    const topic = await this.catalog.topics.get(sub.topic);
    return [entryMap('Attributes', snsSubscriptionAttributes(sub, topic?.deliveryPolicy ?? null, this.arns))];
  }

  private async setAttributes(call: SnsCall): Promise<null> {
    const sub = await this.subscriptionOf(call);
    const patch = subscriptionAttributePatch(
      call.params.required('AttributeName'),
      call.params.string('AttributeValue') ?? '',
      snsProtocolOf(sub),
    );
    try {
      await this.subs.update(sub.id, patch);
    } catch (err) {
      throw snsErrorFrom(err);
    }
    return null;
  }
}

/** Whether a Subscribe's attributes differ from the existing subscription's (only those it gives count). */
function differs(sub: Subscription, patch: SubscriptionPatchInput): boolean {
  return (Object.keys(patch) as Array<keyof SubscriptionPatchInput>).some(
    (k) => !isDeepStrictEqual(patch[k] ?? null, sub[k] ?? null),
  );
}

import { Catalog, ConflictError } from '@herald/catalog';
import { validateDeliveryPolicy, type DeliveryPolicyInput, type Topic } from '@herald/core';
import { ChangeNotifier } from '@herald/queue';
import { SnsArns } from '@herald/sns';
import { Injectable } from '@nestjs/common';
import { assertTopic, type Principal } from '../auth/principal';
import { conflict, notFound, validationFailed } from '../problem/problem';
import { TOPIC_NAME } from './topic.dto';

export type TopicAttributes = Pick<Topic, 'displayName' | 'description' | 'deliveryPolicy'>;

function checkPolicy(policy: unknown): DeliveryPolicyInput | null | undefined {
  const errors = validateDeliveryPolicy(policy);
  if (errors.length > 0) throw validationFailed(errors);
  return policy as DeliveryPolicyInput | null | undefined;
}

/** Topics as both APIs manage them (/v1 and SNS): the same checks, change notices and answers. */
@Injectable()
export class TopicsService {
  constructor(
    private readonly catalog: Catalog,
    private readonly changes: ChangeNotifier,
    private readonly arns: SnsArns,
  ) {}

  /** The topic as the API shows it. */
  view(t: Topic) {
    return {
      name: t.name,
      arn: this.arns.topic(t.name),
      displayName: t.displayName,
      description: t.description,
      deliveryPolicy: t.deliveryPolicy,
      createdAt: t.createdAt,
      updatedAt: t.updatedAt,
    };
  }

  /** Creates a topic; the same name and attributes again is the existing one, other attributes a 409. */
  async create(
    name: string,
    attributes: Partial<TopicAttributes>,
    principal: Principal,
  ): Promise<{ topic: Topic; created: boolean }> {
    assertTopic(principal, name);
    try {
      return await this.catalog.topics.create({
        name,
        displayName: attributes.displayName ?? null,
        description: attributes.description ?? null,
        deliveryPolicy: checkPolicy(attributes.deliveryPolicy) ?? null,
      });
    } catch (err) {
      if (err instanceof ConflictError) throw conflict(`Topic "${name}" exists with other attributes.`);
      throw err;
    }
  }

  /** The topic; 404 for a name that does not exist, whatever its form. */
  async find(name: string): Promise<Topic> {
    const topic = TOPIC_NAME.test(name) ? await this.catalog.topics.get(name) : null;
    if (!topic) throw notFound('Topic', name);
    return topic;
  }

  /** Applies the defined fields (null clears) and tells every process. */
  async update(name: string, patch: Partial<TopicAttributes>, principal: Principal): Promise<Topic> {
    assertTopic(principal, name);
    await this.find(name);
    const defined: Partial<TopicAttributes> = {};
    if (patch.displayName !== undefined) defined.displayName = patch.displayName;
    if (patch.description !== undefined) defined.description = patch.description;
    if (patch.deliveryPolicy !== undefined)
      defined.deliveryPolicy = checkPolicy(patch.deliveryPolicy) ?? null;
    const topic = await this.catalog.topics.update(name, defined);
    if (!topic) throw notFound('Topic', name);
    await this.changes.notify({ kind: 'topic', id: name });
    return topic;
  }

  /** Deletes the topic with its subscriptions, cancelling their pending deliveries. */
  async remove(name: string, principal: Principal): Promise<void> {
    assertTopic(principal, name);
    const subs = TOPIC_NAME.test(name)
      ? await this.catalog.subscriptions.list(name, {}, { limit: 1000, cursor: null })
      : null;
    if (!(await this.catalog.topics.delete(name))) throw notFound('Topic', name);
    await this.changes.notify({ kind: 'topic', id: name });
    for (const s of subs?.items ?? [])
      await this.changes.notify({ kind: 'subscription', id: s.id, topic: name });
  }
}

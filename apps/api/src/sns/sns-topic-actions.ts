import { Catalog } from '@herald/catalog';
import { isDeepStrictEqual } from 'node:util';
import {
  checkTags,
  element,
  entryMap,
  fields,
  invalidParameter,
  memberList,
  notFound,
  SnsArns,
  SnsError,
  snsTopicAttributes,
  tagLimitExceeded,
  topicAttributePatch,
  MAX_TAGS,
  type QueryParams,
  type Xml,
} from '@herald/sns';
import { Injectable } from '@nestjs/common';
import { canUseTopic } from '../auth/principal';
import { TOPIC_NAME } from '../topics/topic.dto';
import { TopicsService, type TopicAttributes } from '../topics/topics.service';
import { assertSnsTopic, principalOf, snsErrorFrom, type SnsAction, type SnsCall } from './sns-call';

/** SNS pages lists 100 at a time. */
export const SNS_PAGE = 100;

const topicNotFound = () => notFound('Topic does not exist');

/** The topic actions: CreateTopic, DeleteTopic, ListTopics, Get/SetTopicAttributes and the tag actions. */
@Injectable()
export class SnsTopicActions {
  constructor(
    private readonly catalog: Catalog,
    private readonly topics: TopicsService,
    private readonly arns: SnsArns,
  ) {}

  actions(): Record<string, SnsAction> {
    return {
      CreateTopic: { scope: 'admin', run: (c) => this.createTopic(c) },
      DeleteTopic: { scope: 'admin', run: (c) => this.deleteTopic(c) },
      ListTopics: { scope: 'read', run: (c) => this.listTopics(c) },
      GetTopicAttributes: { scope: 'read', run: (c) => this.getTopicAttributes(c) },
      SetTopicAttributes: { scope: 'admin', run: (c) => this.setTopicAttributes(c) },
      TagResource: { scope: 'admin', run: (c) => this.tagResource(c) },
      UntagResource: { scope: 'admin', run: (c) => this.untagResource(c) },
      ListTagsForResource: { scope: 'read', run: (c) => this.listTags(c) },
    };
  }

  /** The topic a `TopicArn` (or another ARN parameter) names, when the key may use it. */
  topicOf(call: SnsCall, parameter = 'TopicArn'): string {
    const parsed = this.arns.parseTopic(call.params.required(parameter));
    if (!parsed.ok) throw invalidParameter(parameter, parsed.reason);
    assertSnsTopic(call, parsed.value, this.arns);
    return parsed.value;
  }

  private async createTopic(call: SnsCall): Promise<Xml[]> {
    const { params } = call;
    const name = params.required('Name');
    if (name.endsWith('.fifo')) throw invalidParameter('Name', 'FIFO topics are not supported');
    if (!TOPIC_NAME.test(name))
      throw invalidParameter('Topic Name', 'up to 256 letters, digits, hyphens and underscores');
    if (params.string('DataProtectionPolicy') !== undefined)
      throw invalidParameter('DataProtectionPolicy', 'Herald has no data protection policies');
    assertSnsTopic(call, name, this.arns);
    const attributes: Partial<TopicAttributes> = {};
    for (const [key, value] of params.stringMap('Attributes'))
      Object.assign(attributes, topicAttributePatch(key, value));
    const tags = checkTags(params.list('Tags').map((t) => [t.string('Key') ?? '', t.string('Value') ?? '']));
    const existing = await this.catalog.topics.get(name);
    if (existing) {
      // SNS's CreateTopic is idempotent: only attributes and tags it is given must match.
      const differs = (Object.keys(attributes) as Array<keyof TopicAttributes>).some(
        (k) => !isDeepStrictEqual(attributes[k] ?? null, existing[k] ?? null),
      );
      if (differs) throw invalidParameter('Attributes', 'Topic already exists with different attributes');
      if (tags.size > 0 && !isDeepStrictEqual(tags, await this.catalog.topicTags.list(name)))
        throw invalidParameter(
          'Tags',
          'Topic already exists with different tags. Tags can only be updated via TagResource',
        );
    } else {
      try {
        await this.topics.create(name, attributes, principalOf(call));
      } catch (err) {
        throw snsErrorFrom(err);
      }
      if (tags.size > 0 && !(await this.catalog.topicTags.put(name, tags, MAX_TAGS)))
        throw tagLimitExceeded();
    }
    return [element('TopicArn', this.arns.topic(name))];
  }

  private async deleteTopic(call: SnsCall): Promise<null> {
    const name = this.topicOf(call);
    try {
      await this.topics.remove(name, principalOf(call));
    } catch (err) {
      const mapped = snsErrorFrom(err);
      // SNS answers success for a topic that is already gone.
      if (!(mapped instanceof SnsError && mapped.code === 'NotFound')) throw mapped;
    }
    return null;
  }

  private async listTopics(call: SnsCall): Promise<Xml[]> {
    const cursor = nextToken(call.params, TOPIC_NAME);
    const page = await this.catalog.topics.list({ limit: SNS_PAGE, cursor });
    const p = principalOf(call);
    const topics = page.items.filter((t) => canUseTopic(p, t.name));
    return [
      memberList(
        'Topics',
        topics.map((t) => [element('TopicArn', this.arns.topic(t.name))]),
      ),
      ...fields({ NextToken: page.nextCursor }),
    ];
  }

  private async getTopicAttributes(call: SnsCall): Promise<Xml[]> {
    const name = this.topicOf(call);
    const topic = await this.catalog.topics.get(name);
    if (!topic) throw topicNotFound();
    const counts = await this.catalog.topics.subscriptionCounts(name);
    return [entryMap('Attributes', snsTopicAttributes(topic, counts, this.arns))];
  }

  private async setTopicAttributes(call: SnsCall): Promise<null> {
    const name = this.topicOf(call);
    const patch = topicAttributePatch(
      call.params.required('AttributeName'),
      call.params.string('AttributeValue') ?? '',
    );
    if (!(await this.catalog.topics.get(name))) throw topicNotFound();
    try {
      await this.topics.update(name, patch, principalOf(call));
    } catch (err) {
      throw snsErrorFrom(err);
    }
    return null;
  }

  /** Tags are on topics only, as in SNS. */
  private async taggedTopic(call: SnsCall): Promise<string> {
    const name = this.topicOf(call, 'ResourceArn');
    if (!(await this.catalog.topics.get(name)))
      throw new SnsError('ResourceNotFound', 404, 'Resource does not exist');
    return name;
  }

  private async tagResource(call: SnsCall): Promise<null> {
    const name = await this.taggedTopic(call);
    const tags = checkTags(
      call.params.list('Tags').map((t) => [t.string('Key') ?? '', t.string('Value') ?? '']),
    );
    if (tags.size === 0) throw invalidParameter('Tags', 'at least one tag is required');
    if (!(await this.catalog.topicTags.put(name, tags, MAX_TAGS))) throw tagLimitExceeded();
    return null;
  }

  private async untagResource(call: SnsCall): Promise<null> {
    const name = await this.taggedTopic(call);
    const keys = call.params.values('TagKeys');
    if (keys.length === 0) throw invalidParameter('TagKeys', 'at least one tag key is required');
    await this.catalog.topicTags.remove(name, keys);
    return null;
  }

  private async listTags(call: SnsCall): Promise<Xml[]> {
    const tags = await this.catalog.topicTags.list(await this.taggedTopic(call));
    return [
      memberList(
        'Tags',
        [...tags].map(([k, v]) => [element('Key', k), element('Value', v)]),
      ),
    ];
  }
}

/** The `NextToken` of a list (the previous page's last key), checked against the keys' form. */
export function nextToken(params: QueryParams, form: RegExp): string | null {
  const token = params.string('NextToken');
  if (token === undefined || token === '') return null;
  if (!form.test(token)) throw invalidParameter('NextToken', 'not a token this server gave');
  return token;
}

import type { components, operations } from './generated/openapi';

type Schemas = components['schemas'];

/** The shapes of Herald's answers and request bodies, by their names in the OpenAPI document. */
export type Problem = Schemas['ProblemSchema'];
export type Topic = Schemas['TopicSchema'];
export type TopicDetail = Schemas['TopicDetailSchema'];
export type CreateTopic = Schemas['CreateTopicDto'];
export type UpdateTopic = Schemas['UpdateTopicDto'];
export type Subscription = Schemas['SubscriptionSchema'];
export type CreatedSubscription = Schemas['CreatedSubscriptionSchema'];
export type CreateSubscription = Schemas['CreateSubscriptionDto'];
export type UpdateSubscription = Schemas['UpdateSubscriptionDto'];
export type Publish = Schemas['PublishDto'];
export type PublishResult = Schemas['PublishResultSchema'];
export type DryRun = Schemas['DryRunSchema'];
export type Message = Schemas['MessageSchema'];
export type Delivery = Schemas['DeliverySchema'];
export type DeliveryDetail = Schemas['DeliveryDetailSchema'];
export type Attempt = Schemas['AttemptSchema'];
export type DeadLetter = Schemas['DeadLetterSchema'];
export type DeadLetterDetail = Schemas['DeadLetterDetailSchema'];
export type DeadLetterFilter = Schemas['DeadLetterFilter'];
export type ApiKey = Schemas['ApiKeySchema'];
export type CreatedApiKey = Schemas['CreatedApiKeySchema'];
export type CreateApiKey = Schemas['CreateApiKeyDto'];
export type CurrentApiKey = Schemas['CurrentApiKeySchema'];

/** One page of a list: `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** `?limit=` (1–1000) and `?cursor=` of every list. */
export interface PageQuery {
  limit?: number;
  cursor?: string;
}

export type SubscriptionListQuery = NonNullable<
  operations['SubscriptionsController_list']['parameters']['query']
>;
export type DeliveryListQuery = NonNullable<
  operations['MessagesController_deliveries']['parameters']['query']
>;
export type DeadLetterListQuery = NonNullable<
  operations['DeadLettersController_list']['parameters']['query']
>;

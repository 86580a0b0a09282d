import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './generated/openapi';
import { asProblem, HeraldApiError } from './herald-api-error';
import type {
  ApiKey,
  CreateApiKey,
  CreatedApiKey,
  CreatedSubscription,
  CreateSubscription,
  CreateTopic,
  CurrentApiKey,
  DeadLetter,
  DeadLetterDetail,
  DeadLetterFilter,
  DeadLetterListQuery,
  Delivery,
  DeliveryDetail,
  DeliveryListQuery,
  DryRun,
  Message,
  Page,
  PageQuery,
  Publish,
  PublishResult,
  Subscription,
  SubscriptionListQuery,
  Topic,
  TopicDetail,
  UpdateSubscription,
  UpdateTopic,
} from './types';

export interface HeraldClientOptions {
  /** Herald's origin, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** An API key (`hk_…`); routes that take none (confirmation, health) work without. */
  apiKey?: string;
  /** A fetch of your own (tests, proxies); the global one by default. */
  fetch?: (request: Request) => Promise<Response>;
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The answer's data, or a HeraldApiError carrying the problem Herald answered. */
async function ok<T>(pending: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) throw new HeraldApiError(response.status, asProblem(error), response.url);
  return data as T;
}

/** Every item of a paged list, page after page. */
export async function* allPages<T>(page: (cursor?: string) => Promise<Page<T>>): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const p = await page(cursor);
    yield* p.items;
    cursor = p.nextCursor ?? undefined;
  } while (cursor);
}

/**
 * A client for Herald's `/v1` API, typed from its OpenAPI document. Methods answer the data and throw
 * HeraldApiError (with the problem's `detail`) on error answers; `api` is the underlying openapi-fetch
 * client for anything else.
 */
export function createHeraldClient(options: HeraldClientOptions) {
  const api: Client<paths> = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const id = (value: string) => ({ path: { id: value } });
  const topic = (name: string) => ({ path: { name } });

  return {
    api,
    topics: {
      list: (query: PageQuery = {}): Promise<Page<Topic>> => ok(api.GET('/v1/topics', { params: { query } })),
      create: (body: CreateTopic): Promise<Topic> => ok(api.POST('/v1/topics', { body })),
      get: (name: string): Promise<TopicDetail> => ok(api.GET('/v1/topics/{name}', { params: topic(name) })),
      update: (name: string, body: UpdateTopic): Promise<Topic> =>
        ok(api.PATCH('/v1/topics/{name}', { params: topic(name), body })),
      remove: (name: string): Promise<void> => ok(api.DELETE('/v1/topics/{name}', { params: topic(name) })),
    },
    subscriptions: {
      list: (topicName: string, query: SubscriptionListQuery = {}): Promise<Page<Subscription>> =>
        ok(api.GET('/v1/topics/{name}/subscriptions', { params: { ...topic(topicName), query } })),
      create: (topicName: string, body: CreateSubscription): Promise<CreatedSubscription> =>
        ok(api.POST('/v1/topics/{name}/subscriptions', { params: topic(topicName), body })),
      get: (subscriptionId: string): Promise<Subscription> =>
        ok(api.GET('/v1/subscriptions/{id}', { params: id(subscriptionId) })),
      update: (subscriptionId: string, body: UpdateSubscription): Promise<Subscription> =>
        ok(api.PATCH('/v1/subscriptions/{id}', { params: id(subscriptionId), body })),
      remove: (subscriptionId: string): Promise<void> =>
        ok(api.DELETE('/v1/subscriptions/{id}', { params: id(subscriptionId) })),
      resendConfirmation: (subscriptionId: string) =>
        ok(api.POST('/v1/subscriptions/{id}/confirmation', { params: id(subscriptionId) })),
      rotateSecret: (subscriptionId: string) =>
        ok(api.POST('/v1/subscriptions/{id}/secret/rotate', { params: id(subscriptionId) })),
      deliveries: (subscriptionId: string, query: DeliveryListQuery = {}): Promise<Page<Delivery>> =>
        ok(api.GET('/v1/subscriptions/{id}/deliveries', { params: { ...id(subscriptionId), query } })),
    },
    messages: {
      /** `idempotencyKey` goes in the Idempotency-Key header: a retry within 24 h answers the same message. */
      publish: (
        topicName: string,
        body: Publish,
        opts: { idempotencyKey?: string } = {},
      ): Promise<PublishResult> =>
        ok(
          api.POST('/v1/topics/{name}/messages', {
            params: {
              ...topic(topicName),
              header: opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {},
            },
            body,
          }),
        ),
      publishBatch: (topicName: string, messages: Publish[]) =>
        ok(api.POST('/v1/topics/{name}/messages/batch', { params: topic(topicName), body: { messages } })),
      dryRun: (topicName: string, body: Publish): Promise<DryRun> =>
        ok(api.POST('/v1/topics/{name}/messages/dry-run', { params: topic(topicName), body })),
      get: (messageId: string): Promise<Message> =>
        ok(api.GET('/v1/messages/{id}', { params: id(messageId) })),
      deliveries: (messageId: string, query: DeliveryListQuery = {}): Promise<Page<Delivery>> =>
        ok(api.GET('/v1/messages/{id}/deliveries', { params: { ...id(messageId), query } })),
    },
    deliveries: {
      get: (deliveryId: string): Promise<DeliveryDetail> =>
        ok(api.GET('/v1/deliveries/{id}', { params: id(deliveryId) })),
    },
    deadLetters: {
      list: (query: DeadLetterListQuery = {}): Promise<Page<DeadLetter>> =>
        ok(api.GET('/v1/dead-letters', { params: { query } })),
      get: (deadLetterId: string): Promise<DeadLetterDetail> =>
        ok(api.GET('/v1/dead-letters/{id}', { params: id(deadLetterId) })),
      redrive: (deadLetterId: string): Promise<{ redriven: number }> =>
        ok(api.POST('/v1/dead-letters/{id}/redrive', { params: id(deadLetterId) })),
      redriveAll: (filter: DeadLetterFilter): Promise<{ redriven: number }> =>
        ok(api.POST('/v1/dead-letters/redrive', { body: filter })),
      remove: (deadLetterId: string): Promise<void> =>
        ok(api.DELETE('/v1/dead-letters/{id}', { params: id(deadLetterId) })),
    },
    apiKeys: {
      list: (query: PageQuery = {}): Promise<Page<ApiKey>> =>
        ok(api.GET('/v1/api-keys', { params: { query } })),
      create: (body: CreateApiKey): Promise<CreatedApiKey> => ok(api.POST('/v1/api-keys', { body })),
      current: (): Promise<CurrentApiKey> => ok(api.GET('/v1/api-keys/current')),
      remove: (keyId: string): Promise<void> => ok(api.DELETE('/v1/api-keys/{id}', { params: id(keyId) })),
    },
    /** Confirms a subscription with the token of its confirmation (what a GET of `confirmUrl` does). */
    confirmSubscription: (token: string): Promise<Subscription> =>
      ok(
        api.GET('/v1/subscriptions/confirm', {
          params: { query: { token } },
          headers: { accept: 'application/json' },
        }),
        // With Accept: application/json the answer is the subscription (a page for browsers otherwise).
      ) as Promise<Subscription>,
  };
}

export type HeraldClient = ReturnType<typeof createHeraldClient>;

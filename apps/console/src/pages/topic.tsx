import { validateMessageAttributes } from '@herald/core/attributes';
import { validateFilterPolicy } from '@herald/core/filter-policy';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, enc, query, type FieldError, type Page } from '../api';
import { Count, ErrorNote, Loading, ShownOnce, Status, Table, Time } from '../components';
import { useAction, useLoad } from '../hooks';
import { href } from '../router';
import {
  can,
  PROTOCOLS,
  type Delivery,
  type Message,
  type Principal,
  type Subscription,
  type Topic,
} from '../types';

const RECENT = 100;

interface SubscriptionRow extends Subscription {
  /** Statuses of its last RECENT deliveries (the API has no per-subscription totals). */
  recent?: Record<string, number>;
}

export function TopicPage({ name, principal }: { name: string; principal: Principal }) {
  const readable = can(principal, 'read');
  const topic = useLoad(
    () => (readable ? api<Topic>('GET', `/v1/topics/${enc(name)}`) : Promise.resolve(null)),
    [name],
  );
  const subs = useLoad(async () => {
    if (!readable) return [];
    const page = await api<Page<Subscription>>('GET', `/v1/topics/${enc(name)}/subscriptions?limit=100`);
    return Promise.all(
      page.items.map(async (s): Promise<SubscriptionRow> => {
        const recent = await api<Page<Delivery>>(
          'GET',
          `/v1/subscriptions/${enc(s.id)}/deliveries?limit=${RECENT}`,
        );
        const counts: Record<string, number> = {};
        for (const d of recent.items) counts[d.status] = (counts[d.status] ?? 0) + 1;
        return { ...s, recent: counts };
      }),
    );
  }, [name]);
  useEffect(() => {
    document.title = `${name} · Herald console`;
  }, [name]);
  const t = topic.data;
  return (
    <>
      <p class="crumbs">
        <a href={href('topics')}>Topics</a> /
      </p>
      <h1>{name}</h1>
      <ErrorNote error={topic.error} />
      {t && (
        <dl class="facts">
          {t.displayName && (
            <>
              <dt>Display name</dt>
              <dd>{t.displayName}</dd>
            </>
          )}
          {t.description && (
            <>
              <dt>Description</dt>
              <dd>{t.description}</dd>
            </>
          )}
          <dt>Delivery policy</dt>
          <dd>{t.deliveryPolicy ? <code>{JSON.stringify(t.deliveryPolicy)}</code> : 'defaults'}</dd>
          <dt>Created</dt>
          <dd>
            <Time value={t.createdAt} />
          </dd>
        </dl>
      )}
      {readable && (
        <section>
          <h2 id="subscriptions">Subscriptions</h2>
          <ErrorNote error={subs.error} />
          <Table label="Subscriptions">
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">Protocol</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Delivered
                </th>
                <th scope="col" class="num">
                  Pending
                </th>
                <th scope="col" class="num">
                  Retrying
                </th>
                <th scope="col" class="num">
                  Dead
                </th>
              </tr>
            </thead>
            <tbody>
              {(subs.data ?? []).map((s) => (
                <tr key={s.id}>
                  <th scope="row">
                    <a href={href('subscriptions', s.id)}>{s.endpoint}</a>
                  </th>
                  <td>{s.protocol}</td>
                  <td>
                    <Status value={s.status} />
                  </td>
                  {['delivered', 'pending', 'retrying', 'dead'].map((k) => (
                    <td class="num" key={k}>
                      <Count value={s.recent?.[k] ?? 0} />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </Table>
          <p class="hint">Delivery counts are of each subscription’s last {RECENT} deliveries.</p>
          {subs.data?.length === 0 && <p class="muted">No subscriptions yet.</p>}
          <Loading when={subs.loading && !subs.data} />
        </section>
      )}
      {can(principal, 'subscribe') && (
        <NewSubscription topic={name} admin={can(principal, 'admin')} onCreated={subs.reload} />
      )}
      {can(principal, 'publish') && <PublishTest topic={name} onPublished={subs.reload} />}
      {readable && <RecentMessages topic={name} />}
    </>
  );
}

/** A JSON object typed into a textarea: parsed, or the reason it is not one. */
function parseObject(text: string, field: string): { value?: Record<string, unknown>; errors: FieldError[] } {
  if (!text.trim()) return { errors: [] };
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return { errors: [{ field, message: 'must be a JSON object' }] };
    return { value: value as Record<string, unknown>, errors: [] };
  } catch (err) {
    return { errors: [{ field, message: `is not valid JSON (${(err as Error).message})` }] };
  }
}

function FieldErrors({ id, errors }: { id: string; errors: FieldError[] }) {
  return (
    <ul id={id} class="field-errors" aria-live="polite">
      {errors.map((e) => (
        <li key={e.field + e.message}>
          <code>{e.field}</code> {e.message}
        </li>
      ))}
    </ul>
  );
}

function NewSubscription({
  topic,
  admin,
  onCreated,
}: {
  topic: string;
  admin: boolean;
  onCreated: () => void;
}) {
  const [protocol, setProtocol] = useState<string>('webhook');
  const [endpoint, setEndpoint] = useState('');
  const [skip, setSkip] = useState(false);
  const [policyText, setPolicyText] = useState('');
  const [scope, setScope] = useState<'attributes' | 'body'>('attributes');
  const [delivery, setDelivery] = useState({ maxAttempts: '', minDelayMs: '', maxDelayMs: '' });
  // The server's own validator, as the operator types.
  const policy = useMemo(() => {
    const parsed = parseObject(policyText, 'filterPolicy');
    if (!parsed.value) return parsed;
    return { value: parsed.value, errors: validateFilterPolicy(parsed.value, scope) };
  }, [policyText, scope]);
  const create = useAction(() => {
    const deliveryPolicy = Object.fromEntries(
      Object.entries(delivery)
        .filter(([, v]) => v.trim() !== '')
        .map(([k, v]) => [k, Number(v)]),
    );
    return api<Subscription>('POST', `/v1/topics/${enc(topic)}/subscriptions`, {
      protocol,
      endpoint: endpoint.trim(),
      ...(skip ? { skipConfirmation: true } : {}),
      ...(policy.value ? { filterPolicy: policy.value, filterPolicyScope: scope } : {}),
      ...(Object.keys(deliveryPolicy).length ? { deliveryPolicy } : {}),
    });
  });
  const created = create.result;
  return (
    <form
      aria-labelledby="new-subscription"
      class="panel"
      onSubmit={(e) => {
        e.preventDefault();
        void create.start().then((s) => s && onCreated());
      }}
    >
      <h2 id="new-subscription">New subscription</h2>
      <div class="fields">
        <label>
          Protocol
          <select value={protocol} onChange={(e) => setProtocol(e.currentTarget.value)}>
            {PROTOCOLS.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label class="wide">
          Endpoint
          <input
            value={endpoint}
            required
            placeholder={
              protocol === 'email' ? 'ana@example.com' : protocol === 'sms' ? '+14155550100' : 'https://…'
            }
            onInput={(e) => setEndpoint(e.currentTarget.value)}
          />
        </label>
      </div>
      {admin && (
        <label class="check">
          <input type="checkbox" checked={skip} onChange={(e) => setSkip(e.currentTarget.checked)} />
          Skip confirmation
        </label>
      )}
      <fieldset>
        <legend>Filter policy</legend>
        <label>
          Filter policy scope
          <select value={scope} onChange={(e) => setScope(e.currentTarget.value as 'attributes' | 'body')}>
            <option value="attributes">attributes</option>
            <option value="body">body</option>
          </select>
        </label>
        <label class="wide">
          Filter policy <span class="muted">(JSON, optional: none gets every message)</span>
          <textarea
            rows={4}
            value={policyText}
            spellcheck={false}
            placeholder='{"store": ["berlin"], "total": [{"numeric": [">=", 100]}]}'
            aria-invalid={policy.errors.length > 0}
            aria-describedby="filter-policy-errors"
            onInput={(e) => setPolicyText(e.currentTarget.value)}
          />
        </label>
        <FieldErrors id="filter-policy-errors" errors={policy.errors} />
        {policy.value && policy.errors.length === 0 && <p class="ok">The filter policy is valid.</p>}
      </fieldset>
      <fieldset>
        <legend>Delivery policy (optional: the topic’s or Herald’s defaults otherwise)</legend>
        <div class="fields">
          {(
            [
              ['maxAttempts', 'Max attempts'],
              ['minDelayMs', 'Min delay (ms)'],
              ['maxDelayMs', 'Max delay (ms)'],
            ] as const
          ).map(([k, label]) => (
            <label key={k}>
              {label}
              <input
                type="number"
                min={k === 'maxAttempts' ? 1 : 0}
                value={delivery[k]}
                onInput={(e) => setDelivery({ ...delivery, [k]: e.currentTarget.value })}
              />
            </label>
          ))}
        </div>
      </fieldset>
      <button type="submit" disabled={create.busy || policy.errors.length > 0}>
        Create
      </button>
      <ErrorNote error={create.error} />
      {created && (
        <div role="status" class="done">
          <p>
            Created <a href={href('subscriptions', created.id)}>{created.id}</a>,{' '}
            <Status value={created.status} />
            {created.status === 'pending' && ': it receives a confirmation and starts once it is confirmed.'}
          </p>
          {created.secret && <ShownOnce label="Signing secret" value={created.secret} />}
        </div>
      )}
    </form>
  );
}

function PublishTest({ topic, onPublished }: { topic: string; onPublished: () => void }) {
  const [body, setBody] = useState('');
  const [subject, setSubject] = useState('');
  const [attributesText, setAttributesText] = useState('');
  const attributes = useMemo(() => {
    const parsed = parseObject(attributesText, 'attributes');
    return parsed.value ? { value: parsed.value, errors: validateMessageAttributes(parsed.value) } : parsed;
  }, [attributesText]);
  const message = () => {
    let parsed: unknown = body;
    try {
      parsed = JSON.parse(body);
    } catch {
      // Not JSON: published as the text it is.
    }
    return {
      body: parsed,
      ...(subject.trim() ? { subject: subject.trim() } : {}),
      ...(attributes.value ? { attributes: attributes.value } : {}),
    };
  };
  const publish = useAction(() =>
    api<{ messageId: string }>('POST', `/v1/topics/${enc(topic)}/messages`, message()),
  );
  const preview = useAction(() =>
    api<{ matched: string[]; filteredOut: string[] }>(
      'POST',
      `/v1/topics/${enc(topic)}/messages/dry-run`,
      message(),
    ),
  );
  const invalid = attributes.errors.length > 0;
  return (
    <form
      aria-labelledby="publish-test"
      class="panel"
      onSubmit={(e) => {
        e.preventDefault();
        preview.clear();
        void publish.start().then((r) => r && onPublished());
      }}
    >
      <h2 id="publish-test">Publish test message</h2>
      <label class="wide">
        Body <span class="muted">(JSON, or plain text)</span>
        <textarea
          rows={4}
          value={body}
          required
          spellcheck={false}
          onInput={(e) => setBody(e.currentTarget.value)}
        />
      </label>
      <div class="fields">
        <label>
          Subject <span class="muted">(optional)</span>
          <input value={subject} maxLength={100} onInput={(e) => setSubject(e.currentTarget.value)} />
        </label>
        <label class="wide">
          Attributes <span class="muted">(JSON object, optional)</span>
          <textarea
            rows={2}
            value={attributesText}
            spellcheck={false}
            placeholder='{"store": "berlin", "total": 120}'
            aria-invalid={invalid}
            aria-describedby="attribute-errors"
            onInput={(e) => setAttributesText(e.currentTarget.value)}
          />
        </label>
      </div>
      <FieldErrors id="attribute-errors" errors={attributes.errors} />
      <div class="actions">
        <button type="submit" disabled={publish.busy || invalid}>
          Publish
        </button>
        <button
          type="button"
          class="secondary"
          disabled={preview.busy || invalid || !body}
          onClick={() => {
            publish.clear();
            void preview.start();
          }}
        >
          Preview recipients
        </button>
      </div>
      <ErrorNote error={publish.error ?? preview.error} />
      {publish.result && (
        <p role="status" class="done">
          Published <a href={href('messages', publish.result.messageId)}>{publish.result.messageId}</a>
        </p>
      )}
      {preview.result && <DryRun result={preview.result} />}
    </form>
  );
}

function DryRun({ result }: { result: { matched: string[]; filteredOut: string[] } }) {
  return (
    <div role="status" class="done" aria-label="Dry-run result">
      <p>
        This message would reach {result.matched.length} active subscription
        {result.matched.length === 1 ? '' : 's'}
        {result.filteredOut.length > 0 && `; ${result.filteredOut.length} filtered out`}.
      </p>
      <div class="two">
        <SubscriptionIds title="Would receive it" ids={result.matched} />
        <SubscriptionIds title="Filtered out" ids={result.filteredOut} />
      </div>
    </div>
  );
}

function SubscriptionIds({ title, ids }: { title: string; ids: string[] }) {
  return (
    <div>
      <h3>{title}</h3>
      <ul>
        {ids.map((id) => (
          <li key={id}>
            <a href={href('subscriptions', id)}>{id}</a>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Recent messages, where this Herald lists them (`GET /v1/topics/{name}/messages`); nothing otherwise. */
function RecentMessages({ topic }: { topic: string }) {
  const list = useLoad(
    () =>
      api<Page<Message>>('GET', `/v1/topics/${enc(topic)}/messages${query({ limit: 20 })}`).catch(
        (err: unknown) => {
          if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
          throw err;
        },
      ),
    [topic],
  );
  if (!list.data || list.data.items.length === 0) return null;
  return (
    <section>
      <h2 id="recent-messages">Recent messages</h2>
      <Table label="Recent messages">
        <thead>
          <tr>
            <th scope="col">Message</th>
            <th scope="col">Subject</th>
            <th scope="col">Published</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {list.data.items.map((m) => (
            <tr key={m.id}>
              <th scope="row">
                <a href={href('messages', m.id)}>{m.id}</a>
              </th>
              <td>{m.subject ?? <span class="muted">—</span>}</td>
              <td>
                <Time value={m.publishedAt} />
              </td>
              <td>
                <Status value={m.status} />
              </td>
            </tr>
          ))}
        </tbody>
      </Table>
    </section>
  );
}

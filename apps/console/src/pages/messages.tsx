import { useEffect, useRef, useState } from 'preact/hooks';
import { api, enc, type Page } from '../api';
import { ErrorNote, Json, Loading, Status, Table, Time } from '../components';
import { useInterval, useLoad } from '../hooks';
import { href, navigate } from '../router';
import type { Attempt, Delivery, Message } from '../types';

/** While these hold, the trace refreshes itself: what a message's deliveries do next is worth watching. */
const UNSETTLED_MESSAGE = new Set(['accepted', 'delivering']);
const UNSETTLED_DELIVERY = new Set(['pending', 'retrying']);

export function MessagesPage({ id }: { id: string | undefined }) {
  const [typed, setTyped] = useState(id ?? '');
  // The field follows the route's id when it changes, never at mount: the effect runs after the first
  // paint, and resetting then would wipe what was typed in between.
  const shownId = useRef(id);
  useEffect(() => {
    if (shownId.current !== id) {
      shownId.current = id;
      setTyped(id ?? '');
    }
    document.title = id ? `Message ${id} · Herald console` : 'Messages · Herald console';
  }, [id]);
  return (
    <>
      <h1>Messages</h1>
      <form
        aria-labelledby="find-message"
        class="panel inline"
        onSubmit={(e) => {
          e.preventDefault();
          if (typed.trim()) navigate(href('messages', typed.trim()));
        }}
      >
        <h2 id="find-message" class="visually-hidden">
          Find a message
        </h2>
        <label>
          Message id
          <input
            value={typed}
            required
            spellcheck={false}
            placeholder="msg_…"
            onInput={(e) => setTyped(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Find</button>
      </form>
      {id && <Trace id={id} />}
    </>
  );
}

function Trace({ id }: { id: string }) {
  const trace = useLoad(async () => {
    const message = await api<Message>('GET', `/v1/messages/${enc(id)}`);
    const list = await api<Page<Delivery>>('GET', `/v1/messages/${enc(id)}/deliveries?limit=100`);
    const deliveries = await Promise.all(
      list.items.map((d) => api<Delivery>('GET', `/v1/deliveries/${enc(d.id)}`)),
    );
    return { message, deliveries };
  }, [id]);
  const t = trace.data;
  const unsettled =
    !!t &&
    (UNSETTLED_MESSAGE.has(t.message.status) || t.deliveries.some((d) => UNSETTLED_DELIVERY.has(d.status)));
  useInterval(trace.reload, 1000, unsettled && !trace.loading);
  return (
    <section aria-labelledby="trace">
      <h2 id="trace">
        Trace of <code>{id}</code>
      </h2>
      <ErrorNote error={trace.error} />
      <Loading when={trace.loading && !t} />
      {t && (
        <>
          <dl class="facts">
            <dt>Topic</dt>
            <dd>
              <a href={href('topics', t.message.topic)}>{t.message.topic}</a>
            </dd>
            <dt>Status</dt>
            <dd>
              <Status value={t.message.status} /> {unsettled && <span class="muted">(updating)</span>}
            </dd>
            <dt>Published</dt>
            <dd>
              <Time value={t.message.publishedAt} />
            </dd>
            {t.message.subject && (
              <>
                <dt>Subject</dt>
                <dd>{t.message.subject}</dd>
              </>
            )}
            <dt>Counts</dt>
            <dd>
              {Object.entries(t.message.counts)
                .map(([k, v]) => `${k} ${v}`)
                .join(' · ')}
            </dd>
            {Object.keys(t.message.attributes ?? {}).length > 0 && (
              <>
                <dt>Attributes</dt>
                <dd>
                  <Json label="Attributes" value={t.message.attributes} />
                </dd>
              </>
            )}
            {t.message.body !== undefined && (
              <>
                <dt>Body</dt>
                <dd>
                  <Json label="Body" value={t.message.body} />
                </dd>
              </>
            )}
          </dl>
          {t.deliveries.length === 0 && (
            <p class="muted">No deliveries (yet): nothing matched, or the fan-out is under way.</p>
          )}
          <ol class="deliveries">
            {t.deliveries.map((d) => (
              <li key={d.id} aria-label={`Delivery to ${d.subscriptionId}`}>
                <h3>
                  {d.protocol} to <a href={href('subscriptions', d.subscriptionId)}>{d.subscriptionId}</a>{' '}
                  <Status value={d.status} />
                </h3>
                <Attempts attempts={d.attempts ?? []} />
              </li>
            ))}
          </ol>
          <button type="button" class="secondary" onClick={trace.reload}>
            Refresh
          </button>
        </>
      )}
    </section>
  );
}

export function Attempts({ attempts }: { attempts: Attempt[] }) {
  if (attempts.length === 0) return <p class="muted">No attempt yet.</p>;
  return (
    <Table label="Attempts">
      <thead>
        <tr>
          <th scope="col" class="num">
            #
          </th>
          <th scope="col">Time</th>
          <th scope="col" class="num">
            Duration
          </th>
          <th scope="col">Status code</th>
          <th scope="col">Outcome</th>
          <th scope="col">Error</th>
        </tr>
      </thead>
      <tbody>
        {attempts.map((a) => (
          <tr key={a.number}>
            <td class="num">{a.number}</td>
            <td>
              <Time value={a.at} />
            </td>
            <td class="num">{a.durationMs} ms</td>
            <td>{a.statusCode ?? <span class="muted">—</span>}</td>
            <td>{a.outcome}</td>
            <td class="break">{a.error ?? <span class="muted">—</span>}</td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

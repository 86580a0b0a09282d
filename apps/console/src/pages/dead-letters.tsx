import { useEffect, useState } from 'preact/hooks';
import { allPages, api, eachLimited, enc, query, type Page } from '../api';
import { ErrorNote, Json, Loading, Status, Table, Time } from '../components';
import { asApiError, useAction, useLoad } from '../hooks';
import { href, navigate } from '../router';
import { can, type DeadLetter, type DeadLetterDetail, type Principal } from '../types';
import { Attempts } from './messages';
import type { ApiError } from '../api';

/** Redrives in flight at once during "Redrive all". */
const REDRIVE_WIDTH = 4;

export function DeadLettersPage({ principal, params }: { principal: Principal; params: URLSearchParams }) {
  const topic = params.get('topic') ?? '';
  const subscriptionId = params.get('subscriptionId') ?? '';
  const [cursor, setCursor] = useState<string | null>(null);
  const [items, setItems] = useState<DeadLetter[]>([]);
  const list = useLoad(async () => {
    const page = await api<Page<DeadLetter>>(
      'GET',
      `/v1/dead-letters${query({ topic, subscriptionId, limit: 100, cursor })}`,
    );
    setItems((prev) => (cursor ? [...prev, ...page.items] : page.items));
    return page.nextCursor;
  }, [topic, subscriptionId, cursor]);
  useEffect(() => {
    document.title = 'Dead letters · Herald console';
    setCursor(null);
  }, [topic, subscriptionId]);
  const admin = can(principal, 'admin');
  const shown = items;
  return (
    <>
      <h1>Dead letters</h1>
      <Filter topic={topic} subscriptionId={subscriptionId} />
      <ErrorNote error={list.error} />
      {admin && (
        <RedriveAll
          topic={topic}
          subscriptionId={subscriptionId}
          onDone={() => setCursor(null)}
          reload={list.reload}
        />
      )}
      <Table label="Dead letters">
        <thead>
          <tr>
            <th scope="col">Dead since</th>
            <th scope="col">Topic</th>
            <th scope="col">Endpoint</th>
            <th scope="col" class="num">
              Attempts
            </th>
            <th scope="col">Reason</th>
            <th scope="col">Last error</th>
            <th scope="col">
              <span class="visually-hidden">Open</span>
            </th>
          </tr>
        </thead>
        {shown.map((d) => (
          <Row key={d.id} entry={d} admin={admin} />
        ))}
      </Table>
      {!list.loading && shown.length === 0 && (
        <p class="muted">No dead letters{topic || subscriptionId ? ' match' : ''}.</p>
      )}
      <Loading when={list.loading} />
      {list.data && (
        <button type="button" class="secondary" onClick={() => setCursor(list.data ?? null)}>
          More dead letters
        </button>
      )}
    </>
  );
}

function Filter({ topic, subscriptionId }: { topic: string; subscriptionId: string }) {
  const [t, setT] = useState(topic);
  const [s, setS] = useState(subscriptionId);
  useEffect(() => {
    setT(topic);
    setS(subscriptionId);
  }, [topic, subscriptionId]);
  return (
    <form
      aria-labelledby="dlq-filter"
      class="panel inline"
      onSubmit={(e) => {
        e.preventDefault();
        navigate(href('dead-letters') + query({ topic: t.trim(), subscriptionId: s.trim() }));
      }}
    >
      <h2 id="dlq-filter" class="visually-hidden">
        Filter dead letters
      </h2>
      <label>
        Topic
        <input value={t} onInput={(e) => setT(e.currentTarget.value)} />
      </label>
      <label>
        Subscription
        <input
          value={s}
          placeholder="sub_…"
          spellcheck={false}
          onInput={(e) => setS(e.currentTarget.value)}
        />
      </label>
      <button type="submit">Filter</button>
    </form>
  );
}

/**
 * One dead letter; opening it loads the payload and every attempt, with the actions on it. Once
 * redriven or deleted, the row says so (and links the trace) until the list is loaded again.
 */
function Row({ entry, admin }: { entry: DeadLetter; admin: boolean }) {
  const [open, setOpen] = useState(false);
  const detail = useLoad(
    () =>
      open ? api<DeadLetterDetail>('GET', `/v1/dead-letters/${enc(entry.id)}`) : Promise.resolve(undefined),
    [open, entry.id],
  );
  const redrive = useAction(() => api('POST', `/v1/dead-letters/${enc(entry.id)}/redrive`));
  const remove = useAction(() => api('DELETE', `/v1/dead-letters/${enc(entry.id)}`).then(() => true));
  const [done, setDone] = useState<string | null>(null);
  const detailId = `dlq-${entry.id}`;
  if (done) {
    return (
      <tbody>
        <tr>
          <td colSpan={7} role="status">
            <Status value={done} /> {entry.endpoint}: follow it in{' '}
            <a href={href('messages', entry.messageId)}>the message’s trace</a>.
          </td>
        </tr>
      </tbody>
    );
  }
  return (
    <tbody class={open ? 'open' : undefined}>
      <tr>
        <td>
          <Time value={entry.deadAt} />
        </td>
        <td>
          <a href={href('topics', entry.topic)}>{entry.topic}</a>
        </td>
        <td class="break">
          <a href={href('subscriptions', entry.subscriptionId)}>{entry.endpoint}</a>
        </td>
        <td class="num">{entry.attempts}</td>
        <td>{entry.reason}</td>
        <td class="break">
          {entry.lastStatusCode !== null && <code>{entry.lastStatusCode}</code>} {entry.lastError ?? ''}
        </td>
        <td>
          <button
            type="button"
            class="secondary"
            aria-expanded={open}
            aria-controls={detailId}
            aria-label={`Open dead letter of ${entry.messageId}`}
            onClick={() => setOpen(!open)}
          >
            {open ? 'Close' : 'Open'}
          </button>
        </td>
      </tr>
      {open && (
        <tr id={detailId} class="detail">
          <td colSpan={7}>
            <section aria-label={`Dead letter of ${entry.messageId}`}>
              <ErrorNote error={detail.error} />
              <Loading when={detail.loading} />
              {detail.data && (
                <>
                  <p>
                    Message <a href={href('messages', entry.messageId)}>{entry.messageId}</a>
                    {detail.data.message?.subject && <> · {detail.data.message.subject}</>}
                  </p>
                  <Json label="Payload" value={detail.data.message?.body ?? null} />
                  <Attempts attempts={detail.data.attempts} />
                </>
              )}
              {admin && (
                <div class="actions">
                  <button
                    type="button"
                    disabled={redrive.busy}
                    onClick={() =>
                      void redrive.start().then((r) => {
                        if (r !== undefined) setDone('redriven');
                      })
                    }
                  >
                    Redrive
                  </button>
                  <button
                    type="button"
                    class="danger"
                    disabled={remove.busy}
                    onClick={() => {
                      if (
                        !confirm(
                          'Delete this dead letter? Its message will not be delivered to this subscription.',
                        )
                      )
                        return;
                      void remove.start().then((ok) => ok && setDone('deleted'));
                    }}
                  >
                    Delete
                  </button>
                </div>
              )}
              <ErrorNote error={redrive.error ?? remove.error} />
            </section>
          </td>
        </tr>
      )}
      {done && (
        <tr>
          <td colSpan={7} role="status">
            <Status value={done} /> Follow it in{' '}
            <a href={href('messages', entry.messageId)}>the message’s trace</a>.
          </td>
        </tr>
      )}
    </tbody>
  );
}

/** Redrives everything the filter shows, one entry at a time, with its progress. */
function RedriveAll({
  topic,
  subscriptionId,
  onDone,
  reload,
}: {
  topic: string;
  subscriptionId: string;
  onDone: () => void;
  reload: () => void;
}) {
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [running, setRunning] = useState(false);
  const run = async () => {
    setError(null);
    setRunning(true);
    try {
      const entries = await allPages<DeadLetter>('/v1/dead-letters', { topic, subscriptionId });
      setProgress({ done: 0, total: entries.length });
      await eachLimited(
        entries,
        REDRIVE_WIDTH,
        (e) => api('POST', `/v1/dead-letters/${enc(e.id)}/redrive`).then(() => undefined),
        (done) => setProgress({ done, total: entries.length }),
      );
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setRunning(false);
      onDone();
      reload();
    }
  };
  return (
    <div class="panel inline">
      <button type="button" disabled={running} onClick={() => void run()}>
        Redrive all
      </button>
      {progress && (
        <>
          <progress aria-label="Redrive progress" max={Math.max(progress.total, 1)} value={progress.done} />
          <span role="status">
            {progress.done} of {progress.total} redriven
          </span>
        </>
      )}
      <span class="hint">Everything the filter shows, all pages.</span>
      <ErrorNote error={error} />
    </div>
  );
}

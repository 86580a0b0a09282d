import { useEffect } from 'preact/hooks';
import { api, enc, type Page } from '../api';
import { ErrorNote, Json, Loading, ShownOnce, Status, Table, Time } from '../components';
import { useAction, useLoad } from '../hooks';
import { href } from '../router';
import { can, type Delivery, type Principal, type Subscription } from '../types';

const WHY: Record<string, string> = {
  pending: 'Waiting for its confirmation: the endpoint got a link that activates it.',
  active: 'Receives every message its filter policy matches.',
  paused: 'Paused by an operator: nothing is delivered until it is resumed.',
  disabled: 'Stopped by Herald: the receiver answered 410 Gone, or kept failing. Resume it once fixed.',
  unsubscribed: 'The recipient unsubscribed (a link, a one-click button, or STOP by SMS).',
};

/** Fields a newer Herald may add to say why (e.g. the last confirmation error): shown when present. */
const isReasonField = (key: string) => /error|reason/i.test(key);

export function SubscriptionPage({ id, principal }: { id: string; principal: Principal }) {
  const sub = useLoad(() => api<Subscription>('GET', `/v1/subscriptions/${enc(id)}`), [id]);
  const deliveries = useLoad(
    () => api<Page<Delivery>>('GET', `/v1/subscriptions/${enc(id)}/deliveries?limit=50`),
    [id],
  );
  useEffect(() => {
    document.title = `Subscription ${id} · Herald console`;
  }, [id]);
  const reloadAll = () => {
    sub.reload();
    deliveries.reload();
  };
  const setStatus = useAction((status: 'active' | 'paused') =>
    api('PATCH', `/v1/subscriptions/${enc(id)}`, { status }).then(reloadAll),
  );
  const resend = useAction(() => api('POST', `/v1/subscriptions/${enc(id)}/confirmation`).then(() => true));
  const rotate = useAction(() =>
    api<{ secret: string }>('POST', `/v1/subscriptions/${enc(id)}/secret/rotate`),
  );
  const s = sub.data;
  const manage = can(principal, 'subscribe');
  const reasons = s
    ? Object.entries(s).filter(([k, v]) => isReasonField(k) && v !== null && v !== undefined && v !== '')
    : [];
  return (
    <>
      <p class="crumbs">
        <a href={href('topics')}>Topics</a> / {s && <a href={href('topics', s.topic)}>{s.topic}</a>} /
      </p>
      <h1>Subscription</h1>
      <ErrorNote error={sub.error} />
      <Loading when={sub.loading && !s} />
      {s && (
        <>
          <dl class="facts">
            <dt>Endpoint</dt>
            <dd class="break">{s.endpoint}</dd>
            <dt>Protocol</dt>
            <dd>{s.protocol}</dd>
            <dt>Status</dt>
            <dd>
              <Status value={s.status} /> <span class="why">{WHY[s.status] ?? ''}</span>
              {reasons.map(([k, v]) => (
                <p key={k} class="reason">
                  <span class="muted">{k}:</span> {typeof v === 'string' ? v : JSON.stringify(v)}
                </p>
              ))}
            </dd>
            <dt>ID</dt>
            <dd>
              <code>{s.id}</code>
            </dd>
            <dt>Created</dt>
            <dd>
              <Time value={s.createdAt} />
            </dd>
            <dt>Confirmed</dt>
            <dd>
              <Time value={s.confirmedAt} />
            </dd>
            <dt>Filter policy</dt>
            <dd>
              {s.filterPolicy ? <Json label="Filter policy" value={s.filterPolicy} /> : 'none: every message'}
              {s.filterPolicy && <span class="muted">on the message’s {s.filterPolicyScope}</span>}
            </dd>
            <dt>Delivery policy</dt>
            <dd>{s.deliveryPolicy ? <code>{JSON.stringify(s.deliveryPolicy)}</code> : 'the topic’s'}</dd>
          </dl>
          {manage && (
            <div class="actions" role="group" aria-label="Manage the subscription">
              {s.status === 'active' && (
                <button
                  type="button"
                  disabled={setStatus.busy}
                  onClick={() => void setStatus.start('paused')}
                >
                  Pause
                </button>
              )}
              {(s.status === 'paused' || s.status === 'disabled') && (
                <button
                  type="button"
                  disabled={setStatus.busy}
                  onClick={() => void setStatus.start('active')}
                >
                  Resume
                </button>
              )}
              {s.status === 'pending' && (
                <button
                  type="button"
                  class="secondary"
                  disabled={resend.busy}
                  onClick={() => void resend.start()}
                >
                  Resend confirmation
                </button>
              )}
              {(s.protocol === 'webhook' || s.protocol === 'function') && (
                <button
                  type="button"
                  class="secondary"
                  disabled={rotate.busy}
                  onClick={() => void rotate.start()}
                >
                  Rotate secret
                </button>
              )}
              <a href={`${href('dead-letters')}?subscriptionId=${enc(s.id)}`}>Its dead letters</a>
            </div>
          )}
          <ErrorNote error={setStatus.error ?? resend.error ?? rotate.error} />
          {resend.result && (
            <p role="status" class="done">
              A new confirmation is on its way; the previous link no longer works.
            </p>
          )}
          {rotate.result && (
            <div role="status" class="done">
              <p>The old secret keeps signing beside the new one for 24 hours.</p>
              <ShownOnce label="New signing secret" value={rotate.result.secret} />
            </div>
          )}
        </>
      )}
      <section>
        <h2 id="recent-deliveries">Recent deliveries</h2>
        <ErrorNote error={deliveries.error} />
        <Table label="Recent deliveries">
          <thead>
            <tr>
              <th scope="col">Message</th>
              <th scope="col">Status</th>
              <th scope="col" class="num">
                Attempts
              </th>
              <th scope="col">Last status code</th>
              <th scope="col">Last error</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {(deliveries.data?.items ?? []).map((d) => (
              <tr key={d.id}>
                <th scope="row">
                  <a href={href('messages', d.messageId)}>{d.messageId}</a>
                </th>
                <td>
                  <Status value={d.status} />
                </td>
                <td class="num">{d.attemptCount}</td>
                <td>{d.lastStatusCode ?? <span class="muted">—</span>}</td>
                <td class="break">{d.lastError ?? <span class="muted">—</span>}</td>
                <td>
                  <Time value={d.updatedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
        {deliveries.data?.items.length === 0 && <p class="muted">No deliveries yet.</p>}
        <button type="button" class="secondary" onClick={reloadAll}>
          Refresh
        </button>
      </section>
    </>
  );
}

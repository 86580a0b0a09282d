import { useEffect, useState } from 'preact/hooks';
import { api, enc, query, type Page } from '../api';
import { Count, ErrorNote, Loading, Table } from '../components';
import { useAction, useLoad } from '../hooks';
import { href, navigate } from '../router';
import { can, SUBSCRIPTION_STATUSES, type Principal, type Topic } from '../types';

export function TopicsPage({ principal }: { principal: Principal }) {
  useEffect(() => {
    document.title = 'Topics · Herald console';
  }, []);
  return (
    <>
      <h1>Topics</h1>
      {can(principal, 'read') ? <TopicList /> : <OpenTopic />}
      {can(principal, 'admin') && <NewTopic />}
    </>
  );
}

/** Each topic with its subscriptions counted by status (one request per topic: the list has no counts). */
function TopicList() {
  const [cursor, setCursor] = useState<string | null>(null);
  const [pages, setPages] = useState<Topic[][]>([]);
  const list = useLoad(async () => {
    const page = await api<Page<Topic>>('GET', `/v1/topics${query({ limit: 50, cursor })}`);
    const items = await Promise.all(page.items.map((t) => api<Topic>('GET', `/v1/topics/${enc(t.name)}`)));
    setPages((p) => (cursor ? [...p, items] : [items]));
    return page.nextCursor;
  }, [cursor]);
  const topics = pages.flat();
  return (
    <section aria-labelledby="topic-list">
      <h2 id="topic-list" class="visually-hidden">
        All topics
      </h2>
      <ErrorNote error={list.error} />
      <Table label="Topics">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Display name</th>
            {SUBSCRIPTION_STATUSES.map((s) => (
              <th scope="col" key={s} class="num">
                {s}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {topics.map((t) => (
            <tr key={t.name}>
              <th scope="row">
                <a href={href('topics', t.name)}>{t.name}</a>
              </th>
              <td>{t.displayName ?? <span class="muted">—</span>}</td>
              {SUBSCRIPTION_STATUSES.map((s) => (
                <td key={s} class="num">
                  <Count value={t.subscriptionCounts?.[s]} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </Table>
      {!list.loading && topics.length === 0 && <p class="muted">No topics yet.</p>}
      <Loading when={list.loading} />
      {list.data && (
        <button type="button" class="secondary" onClick={() => setCursor(list.data ?? null)}>
          More topics
        </button>
      )}
    </section>
  );
}

/** A key that may publish or subscribe but not read cannot list topics: it opens one by name. */
function OpenTopic() {
  const [name, setName] = useState('');
  return (
    <form
      aria-labelledby="open-topic"
      onSubmit={(e) => {
        e.preventDefault();
        navigate(href('topics', name.trim()));
      }}
    >
      <h2 id="open-topic">Open a topic</h2>
      <p class="hint">This key may not list topics; give the name of one it may use.</p>
      <label>
        Topic name
        <input value={name} required onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <button type="submit">Open</button>
    </form>
  );
}

function NewTopic() {
  const [name, setName] = useState('');
  const [displayName, setDisplayName] = useState('');
  const create = useAction(() =>
    api<Topic>('POST', '/v1/topics', { name: name.trim(), ...(displayName.trim() ? { displayName } : {}) }),
  );
  return (
    <form
      aria-labelledby="new-topic"
      class="panel"
      onSubmit={(e) => {
        e.preventDefault();
        void create.start().then((t) => t && navigate(href('topics', t.name)));
      }}
    >
      <h2 id="new-topic">New topic</h2>
      <div class="fields">
        <label>
          Name
          <input
            value={name}
            required
            pattern="[A-Za-z0-9_\-]{1,256}"
            title="letters, digits, - and _ (at most 256)"
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label>
          Display name <span class="muted">(optional)</span>
          <input value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
        </label>
      </div>
      <button type="submit" disabled={create.busy}>
        Create
      </button>
      <ErrorNote error={create.error} />
    </form>
  );
}

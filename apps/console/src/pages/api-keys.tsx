import { useEffect, useState } from 'preact/hooks';
import { api, enc, type Page } from '../api';
import { ErrorNote, Loading, ShownOnce, Table, Time } from '../components';
import { useAction, useLoad } from '../hooks';
import { SCOPES, type ApiKey, type Principal, type Scope } from '../types';

export function ApiKeysPage({ principal }: { principal: Principal }) {
  const keys = useLoad(() => api<Page<ApiKey>>('GET', '/v1/api-keys?limit=1000'), []);
  const remove = useAction((id: string) => api('DELETE', `/v1/api-keys/${enc(id)}`).then(keys.reload));
  useEffect(() => {
    document.title = 'API keys · Herald console';
  }, []);
  return (
    <>
      <h1>API keys</h1>
      <ErrorNote error={keys.error ?? remove.error} />
      <Table label="API keys">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">ID</th>
            <th scope="col">Scopes</th>
            <th scope="col">Topics</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(keys.data?.items ?? []).map((k) => (
            <tr key={k.id}>
              <th scope="row">{k.name}</th>
              <td>
                <code>{k.id}</code>
              </td>
              <td>{k.scopes.join(', ')}</td>
              <td>{k.topics ? k.topics.join(', ') : <span class="muted">all</span>}</td>
              <td>
                <Time value={k.createdAt} />
              </td>
              <td>
                {k.id !== principal.id && (
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete ${k.name}`}
                    disabled={remove.busy}
                    onClick={() => {
                      if (confirm(`Delete the key "${k.name}"? It stops working at once.`))
                        void remove.start(k.id);
                    }}
                  >
                    Delete
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </Table>
      <p class="hint">The bootstrap key (ADMIN_API_KEY) is not listed: it lives in Herald’s configuration.</p>
      <Loading when={keys.loading && !keys.data} />
      <NewKey onCreated={keys.reload} />
    </>
  );
}

function NewKey({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Set<Scope>>(new Set(['publish']));
  const [topics, setTopics] = useState('');
  const create = useAction(() => {
    const list = topics
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    return api<ApiKey>('POST', '/v1/api-keys', {
      name: name.trim(),
      scopes: [...scopes],
      ...(list.length ? { topics: list } : {}),
    });
  });
  const toggle = (s: Scope, on: boolean) => {
    const next = new Set(scopes);
    if (on) next.add(s);
    else next.delete(s);
    setScopes(next);
  };
  return (
    <form
      aria-labelledby="new-key"
      class="panel"
      onSubmit={(e) => {
        e.preventDefault();
        void create.start().then((k) => k && onCreated());
      }}
    >
      <h2 id="new-key">New API key</h2>
      <label>
        Name
        <input value={name} required maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <fieldset>
        <legend>Scopes</legend>
        {SCOPES.map((s) => (
          <label class="check" key={s}>
            <input
              type="checkbox"
              checked={scopes.has(s)}
              onChange={(e) => toggle(s, e.currentTarget.checked)}
            />
            {s}
          </label>
        ))}
      </fieldset>
      <label>
        Topics <span class="muted">(comma-separated; empty: every topic)</span>
        <input value={topics} onInput={(e) => setTopics(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={create.busy || scopes.size === 0}>
        Create
      </button>
      <ErrorNote error={create.error} />
      {create.result?.key && (
        <div role="status" class="done">
          <p>
            Created <strong>{create.result.name}</strong>.
          </p>
          <ShownOnce label="New API key" value={create.result.key} />
        </div>
      )}
    </form>
  );
}

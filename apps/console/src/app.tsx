import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, forgetKey, storedKey, storeKey, whenUnauthorized } from './api';
import { ErrorNote } from './components';
import { asApiError } from './hooks';
import { ApiKeysPage } from './pages/api-keys';
import { DeadLettersPage } from './pages/dead-letters';
import { MessagesPage } from './pages/messages';
import { SubscriptionPage } from './pages/subscription';
import { TopicPage } from './pages/topic';
import { TopicsPage } from './pages/topics';
import { href, navigate, useRoute, type Route } from './router';
import { can, isUnlimitedAdmin, type Principal } from './types';

export function App() {
  const [principal, setPrincipal] = useState<Principal | null>(null);
  const [checking, setChecking] = useState(() => storedKey() !== null);
  const [notice, setNotice] = useState<string | null>(null);

  const signOut = async (why: string | null = null) => {
    forgetKey();
    setPrincipal(null);
    setNotice(why);
    // Ends the queue dashboard's session too, if one was opened (the cookie is HttpOnly).
    await fetch('/admin/session', { method: 'DELETE' }).catch(() => undefined);
  };

  useEffect(() => {
    whenUnauthorized(() => void signOut('Your API key no longer works: sign in again.'));
    if (!storedKey()) return;
    api<Principal>('GET', '/v1/api-keys/current').then(
      (p) => {
        setPrincipal(p);
        setChecking(false);
      },
      () => {
        forgetKey();
        setChecking(false);
      },
    );
  }, []);

  if (checking) return <p role="status">Loading…</p>;
  if (!principal) return <SignIn notice={notice} onSignedIn={setPrincipal} />;
  return <Shell principal={principal} onSignOut={() => void signOut()} />;
}

function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: (p: Principal) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    document.title = 'Sign in · Herald console';
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    storeKey(key.trim());
    try {
      onSignedIn(await api<Principal>('GET', '/v1/api-keys/current'));
      if (!location.hash || location.hash === '#/') navigate('#/topics');
    } catch (err) {
      forgetKey();
      const e2 = asApiError(err);
      setError(e2.status === 401 ? new ApiError(401, 'That API key is not valid.') : e2);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in" id="main">
      <form aria-labelledby="sign-in-title" onSubmit={(e) => void submit(e)}>
        <h1 id="sign-in-title">Herald console</h1>
        <p>Sign in with an API key. It stays in this browser tab only and is forgotten when you close it.</p>
        {notice && <p role="status">{notice}</p>}
        <label>
          API key
          <input
            type="text"
            name="api-key"
            value={key}
            required
            autocomplete="off"
            spellcheck={false}
            autoFocus
            onInput={(e) => setKey(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        <ErrorNote error={error} />
      </form>
    </main>
  );
}

const NAV: Array<{ label: string; path: string; allowed: (p: Principal) => boolean }> = [
  {
    label: 'Topics',
    path: 'topics',
    allowed: (p) => can(p, 'read') || can(p, 'publish') || can(p, 'subscribe'),
  },
  { label: 'Messages', path: 'messages', allowed: (p) => can(p, 'read') },
  { label: 'Dead letters', path: 'dead-letters', allowed: (p) => can(p, 'read') },
  { label: 'API keys', path: 'api-keys', allowed: (p) => can(p, 'admin') },
];

function Shell({ principal, onSignOut }: { principal: Principal; onSignOut: () => void }) {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const [dashboardError, setDashboardError] = useState<ApiError | null>(null);
  const section = route.path[0] ?? 'topics';
  useEffect(() => {
    if (!route.path[0]) navigate('#/topics');
  }, [route.path[0]]);

  const openDashboard = async (e: Event) => {
    e.preventDefault();
    try {
      await api('POST', '/admin/session');
      location.assign('/admin/queues');
    } catch (err) {
      setDashboardError(asApiError(err));
    }
  };

  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          main.current?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Herald</span>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => n.allowed(principal)).map((n) => (
              <li key={n.path}>
                <a href={href(n.path)} aria-current={section === n.path ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
            {isUnlimitedAdmin(principal) && (
              <li>
                <a href="/admin/queues" onClick={(e) => void openDashboard(e)}>
                  Queue dashboard
                </a>
              </li>
            )}
          </ul>
        </nav>
        <span class="who">
          <span class="muted">Signed in as</span> {principal.name}
        </span>
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <ErrorNote error={dashboardError} />
      <main id="main" ref={main} tabIndex={-1}>
        <Page route={route} principal={principal} />
      </main>
    </>
  );
}

function Page({ route, principal }: { route: Route; principal: Principal }) {
  const [section, id] = route.path;
  switch (section) {
    case 'topics':
      return id ? <TopicPage name={id} principal={principal} /> : <TopicsPage principal={principal} />;
    case 'subscriptions':
      return <SubscriptionPage id={id ?? ''} principal={principal} />;
    case 'messages':
      return <MessagesPage id={id} />;
    case 'dead-letters':
      return <DeadLettersPage principal={principal} params={route.params} />;
    case 'api-keys':
      return <ApiKeysPage principal={principal} />;
    default:
      return <h1>Nothing here</h1>;
  }
}

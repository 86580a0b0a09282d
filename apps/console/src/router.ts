import { useEffect, useState } from 'preact/hooks';

/** A place in the console: `#/topics/orders?x=1` → { path: ['topics', 'orders'], params }. */
export interface Route {
  path: string[];
  params: URLSearchParams;
}

function current(): Route {
  const [path, search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return {
    path: path.split('/').filter(Boolean).map(decodeURIComponent),
    params: new URLSearchParams(search),
  };
}

/** Hash routes: the API serves one file at /console/, and every page is a fragment of it. */
export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const onChange = () => setRoute(current());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}

export function navigate(to: string): void {
  location.hash = to;
}

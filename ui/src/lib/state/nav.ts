/**
 * Where the user is: one route per screen, kept in `location.hash` so the browser's and
 * the window's back button work and a reload stays on the same screen.
 */

export type Route =
  | { kind: 'home' }
  | { kind: 'grid'; entity: string }
  | { kind: 'record'; entity: string; id: string }
  | { kind: 'new'; entity: string }
  | { kind: 'search'; text: string; entity: string | null }
  | { kind: 'errors' }
  | { kind: 'error'; opId: string }
  | { kind: 'drafts' }
  | { kind: 'draft'; id: string }
  | { kind: 'new-draft'; entity: string }
  | { kind: 'recent'; entity: string; id: string };

const enc = encodeURIComponent;

/** The hash of a route (`#/grid/account`). */
export function routeHash(route: Route): string {
  switch (route.kind) {
    case 'home':
      return '#/';
    case 'grid':
      return `#/grid/${enc(route.entity)}`;
    case 'record':
      return `#/record/${enc(route.entity)}/${enc(route.id)}`;
    case 'new':
      return `#/new/${enc(route.entity)}`;
    case 'search': {
      const params = new URLSearchParams({ q: route.text });
      if (route.entity !== null) params.set('entity', route.entity);
      return `#/search?${params.toString()}`;
    }
    case 'errors':
      return '#/errors';
    case 'error':
      return `#/errors/${enc(route.opId)}`;
    case 'drafts':
      return '#/drafts';
    case 'draft':
      return `#/drafts/${enc(route.id)}`;
    case 'new-draft':
      return `#/new-draft/${enc(route.entity)}`;
    case 'recent':
      return `#/recent/${enc(route.entity)}/${enc(route.id)}`;
  }
}

/** The route of a hash; anything unknown is home. */
export function parseHash(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = text.split('?', 2);
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const [head, a, b] = parts;
  switch (head) {
    case 'grid':
      if (a !== undefined) return { kind: 'grid', entity: a };
      break;
    case 'record':
      if (a !== undefined && b !== undefined) return { kind: 'record', entity: a, id: b };
      break;
    case 'new':
      if (a !== undefined) return { kind: 'new', entity: a };
      break;
    case 'search': {
      const params = new URLSearchParams(query);
      return { kind: 'search', text: params.get('q') ?? '', entity: params.get('entity') };
    }
    case 'errors':
      return a === undefined ? { kind: 'errors' } : { kind: 'error', opId: a };
    case 'drafts':
      return a === undefined ? { kind: 'drafts' } : { kind: 'draft', id: a };
    case 'new-draft':
      if (a !== undefined) return { kind: 'new-draft', entity: a };
      break;
    case 'recent':
      if (a !== undefined && b !== undefined) return { kind: 'recent', entity: a, id: b };
      break;
  }
  return { kind: 'home' };
}

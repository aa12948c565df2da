/**
 * What a request no route answered gets (RFC 9110 section 15.5.6): when its path is one the
 * app serves with other methods, 405 Method Not Allowed with an `Allow` header naming them;
 * otherwise 404. The methods come from the app's own route table (`app.routes`), matched with
 * hono's router, so no route declares its methods twice and a route mounted later (records,
 * witness status) is covered as soon as it is mounted. The body is the one the error mapping
 * gives that family of paths (problem.ts): problem+json, or plain text on C2SP paths; an app
 * with an error mapping of its own (the witness: plain text everywhere) passes it instead.
 */
import type { Context, Env, Hono, NotFoundHandler } from 'hono';
import { TrieRouter } from 'hono/router/trie-router';
import { AuditlogError } from '../errors.js';
import { errorResponse } from './problem.js';

/** The order methods are listed in `Allow`; any other method follows, alphabetically. */
const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

function byOrder(a: string, b: string): number {
  const ia = ORDER.indexOf(a);
  const ib = ORDER.indexOf(b);
  if (ia >= 0 && ib >= 0) return ia - ib;
  if (ia >= 0 || ib >= 0) return ia >= 0 ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A function giving the methods `routes` serve on a path, in `Allow` order, or [] when none
 * does. Routes of method ALL (`app.use` middleware) serve no method and are left out. HEAD is
 * listed wherever GET is: hono answers HEAD with the GET route.
 */
export function allowedMethods(
  routes: readonly { method: string; path: string }[],
): (path: string) => string[] {
  const router = new TrieRouter<string>();
  const seen = new Set<string>();
  for (const r of routes) {
    if (r.method === 'ALL') continue;
    const key = `${r.method} ${r.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // Stored under ALL so that one match returns every route on the path, whatever its method.
    router.add('ALL', r.path, r.method);
  }
  return (path) => {
    const methods = new Set(router.match('GET', path)[0].map(([method]) => method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort(byOrder);
  };
}

/** Renders an error as a response: the app's error mapping. */
export type ErrorRenderer = (c: Context, err: AuditlogError) => Response;

/**
 * The app's not-found handler: 405 with `Allow` for a path `app` serves with other methods,
 * 404 for any other, each rendered by `render` (default: the log's mapping, problem.ts). The
 * route table is read on the first such request: hono takes no route after its first request,
 * so the handler may be installed before the app's last route.
 */
export function notFoundOrMethodNotAllowed<E extends Env>(
  app: Hono<E>,
  render: ErrorRenderer = errorResponse,
): NotFoundHandler<E> {
  let allowed: ((path: string) => string[]) | undefined;
  return (c: Context<E>) => {
    allowed ??= allowedMethods(app.routes);
    const allow = allowed(c.req.path);
    if (allow.length === 0) {
      return render(c, new AuditlogError('NOT_FOUND', 'no such resource'));
    }
    c.header('Allow', allow.join(', '));
    const message = `${c.req.method} is not allowed here; allowed: ${allow.join(', ')}`;
    return render(c, new AuditlogError('METHOD_NOT_ALLOWED', message));
  };
}

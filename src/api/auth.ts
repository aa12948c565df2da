/** Authentication middleware: `Authorization: Bearer <token>` → `c.get('principal')`. */
import type { MiddlewareHandler } from 'hono';
import { AuditlogError } from '../errors.js';
import type { Principal, Role, TokenStore } from './tokens.js';

export type AuthEnv = { Variables: { principal: Principal } };

/** Requires a valid token with one of `roles` (admin is always accepted). */
export function requireRole(tokens: TokenStore, ...roles: Role[]): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    // The scheme is case-insensitive (RFC 7235 section 2.1); `i` leaves the token's class as it is.
    const m = header ? /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i.exec(header) : null;
    if (!m) throw new AuditlogError('UNAUTHORIZED', 'missing or malformed Authorization: Bearer token');
    const principal = await tokens.lookup(m[1]!);
    if (!principal) throw new AuditlogError('UNAUTHORIZED', 'unknown token');
    if (principal.role !== 'admin' && !roles.includes(principal.role)) {
      throw new AuditlogError('FORBIDDEN', `role ${principal.role} may not do this`);
    }
    c.set('principal', principal);
    await next();
  };
}

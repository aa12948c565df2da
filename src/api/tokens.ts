/**
 * Bearer tokens (spec/http-api.md). A token is `alt_` + base64url of 32 random bytes; only
 * its SHA-256 is stored (sublevel `tokens` of the log database), with its role, name and
 * optional tenant. Lookup is by hash, and the stored hash is compared in constant time.
 * Known tokens are cached in memory (keyed by hash, bounded); tokens cannot be revoked yet.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuditlogError } from '../errors.js';
import type { LogDB } from '../storage/level-store.js';

export const ROLES = ['submitter', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who made a request: a token's role, name and tenant (never the token itself). */
export interface Principal {
  role: Role;
  name: string;
  tenant?: string;
}

interface StoredToken extends Principal {
  hash: string;
  created: string;
}

const NAME_RE = /^[A-Za-z0-9._:@-]{1,64}$/;
/** The same rule as a record's `tenant_id` (spec/records.md), so every token tenant can submit. */
const TENANT_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Tokens remembered after a lookup, so the submit path does not read LevelDB per request. */
const CACHE_LIMIT = 10_000;

export class TokenStore {
  private readonly table;
  private readonly cache = new Map<string, Principal>();
  constructor(db: LogDB) {
    this.table = db.sublevel<string, string>('tokens', { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  }

  /**
   * Creates a token and returns it: the only time it exists in clear.
   * @throws BAD_REQUEST on an unknown role or a malformed name or tenant.
   */
  async create(p: {
    role: string;
    name?: string;
    tenant?: string;
  }): Promise<{ token: string; principal: Principal }> {
    if (!(ROLES as readonly string[]).includes(p.role)) {
      throw new AuditlogError('BAD_REQUEST', `role must be one of ${ROLES.join(', ')}`);
    }
    const name = p.name ?? `${p.role}-${randomBytes(3).toString('hex')}`;
    if (!NAME_RE.test(name)) throw new AuditlogError('BAD_REQUEST', 'name must be 1-64 of [A-Za-z0-9._:@-]');
    if (p.tenant !== undefined && !TENANT_RE.test(p.tenant)) {
      throw new AuditlogError(
        'BAD_REQUEST',
        'tenant must be 1-128 of [A-Za-z0-9_.:-], starting with a letter or digit',
      );
    }
    const token = `alt_${randomBytes(32).toString('base64url')}`;
    const hash = tokenHash(token).toString('hex');
    const principal: Principal = { role: p.role as Role, name, ...(p.tenant ? { tenant: p.tenant } : {}) };
    const stored: StoredToken = { ...principal, hash, created: new Date().toISOString() };
    // sync is honoured by classic-level through the sublevel, though its types omit it.
    await this.table.put(hash, JSON.stringify(stored), { sync: true } as object);
    return { token, principal };
  }

  /** The principal of a presented token, or undefined. */
  async lookup(token: string): Promise<Principal | undefined> {
    if (token.length > 200) return undefined;
    const h = tokenHash(token);
    const key = h.toString('hex');
    const hit = this.cache.get(key);
    if (hit) return hit;
    const v = await this.table.get(key);
    if (!v) return undefined;
    const stored = JSON.parse(v) as StoredToken;
    if (!timingSafeEqual(Buffer.from(stored.hash, 'hex'), h)) return undefined;
    const principal: Principal = {
      role: stored.role,
      name: stored.name,
      ...(stored.tenant ? { tenant: stored.tenant } : {}),
    };
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, principal);
    return principal;
  }
}

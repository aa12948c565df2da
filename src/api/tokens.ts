/**
 * Bearer tokens (spec/http-api.md). A token is `alt_` + base64url of 32 random bytes; only
 * its SHA-256 is stored (sublevel `tokens` of the log database), with its role, name,
 * optional tenant and who created it. Lookup is by hash, and the stored hash is compared in
 * constant time.
 *
 * A revoked token keeps its row, marked `revoked` (when) and `revoked_by` (who), so the table
 * is also the record of token changes; a lookup refuses a revoked row. Names are unique among
 * active tokens; revoking a name revokes every active token of that name (a data directory
 * from before names were unique may hold several).
 *
 * Known tokens are cached in memory (keyed by hash, bounded, each entry at most
 * CACHE_TTL_MS old). The only writer of the table is the process holding the LevelDB lock,
 * and a change made through this store evicts the tokens it revokes before it resolves, so
 * the next lookup after a revocation is acknowledged refuses the token; the TTL bounds how
 * long a change made by any other path could go unseen.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
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

/** What may be shown about a token: everything but its secret and its hash. */
export interface TokenInfo extends Principal {
  /** ISO 8601 time of creation. */
  created: string;
  /** The admin token name that created it, or CLI_ACTOR; absent on tokens from before it was kept. */
  created_by?: string;
  /** ISO 8601 time of revocation; absent while the token is active. */
  revoked?: string;
  /** The admin token name that revoked it, or CLI_ACTOR. */
  revoked_by?: string;
}

interface StoredToken extends TokenInfo {
  hash: string;
}

/** `created_by` / `revoked_by` of changes made on the command line (not a valid token name). */
export const CLI_ACTOR = '(cli)';

/** A token name: 1 to 64 of `[A-Za-z0-9._:@-]`. */
export const TOKEN_NAME = /^[A-Za-z0-9._:@-]{1,64}$/;
/**
 * A tenant name: the rule of a record's `tenant_id` (spec/records.md) without the log's reserved
 * `*`, so every token tenant can submit, and holds and erasures name a real tenant.
 */
export const TENANT_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

function tokenHash(token: string): Buffer {
  // node:crypto's one-shot hash(): the same digest as createHash().update().digest(), one call.
  return hash('sha256', token, 'buffer') as unknown as Buffer;
}

/** @throws BAD_REQUEST unless `name` is a token name. */
function checkName(name: string): void {
  if (!TOKEN_NAME.test(name)) throw new AuditlogError('BAD_REQUEST', 'name must be 1-64 of [A-Za-z0-9._:@-]');
}

function infoOf(s: StoredToken): TokenInfo {
  const { hash: _, ...info } = s;
  return info;
}

/** True for an admin token without a tenant: one that can manage every token. */
function isGlobalAdmin(t: Principal): boolean {
  return t.role === 'admin' && t.tenant === undefined;
}

/** Tokens remembered after a lookup, so the submit path does not read LevelDB per request. */
const CACHE_LIMIT = 10_000;
/** Longest time a cached token is trusted without reading its row again (spec/http-api.md). */
export const CACHE_TTL_MS = 5_000;

export class TokenStore {
  private readonly table;
  private readonly cache = new Map<string, { principal: Principal; at: number }>();
  /** Bumped by every revocation; a lookup that read the row before a bump does not cache it. */
  private generation = 0;
  /** Changes run one at a time, so name uniqueness and the last-admin rule hold. */
  private changes: Promise<unknown> = Promise.resolve();

  constructor(
    db: LogDB,
    private readonly now: () => number = Date.now,
  ) {
    this.table = db.sublevel<string, string>('tokens', { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  }

  /**
   * Creates a token and returns it: the only time it exists in clear. `by` is the admin
   * making it (undefined: the command line). An admin with a tenant creates tokens of its
   * own tenant only (its tenant is the default).
   * @throws BAD_REQUEST on an unknown role or a malformed name or tenant; FORBIDDEN for a
   *   tenant admin naming another tenant; CONFLICT when an active token has that name.
   */
  async create(
    p: { role: string; name?: string; tenant?: string },
    by?: Principal,
  ): Promise<{ token: string; principal: Principal }> {
    if (!(ROLES as readonly string[]).includes(p.role)) {
      throw new AuditlogError('BAD_REQUEST', `role must be one of ${ROLES.join(', ')}`);
    }
    const name = p.name ?? `${p.role}-${randomBytes(3).toString('hex')}`;
    checkName(name);
    if (p.tenant !== undefined && !TENANT_RE.test(p.tenant)) {
      throw new AuditlogError(
        'BAD_REQUEST',
        'tenant must be 1-128 of [A-Za-z0-9_.:-], starting with a letter or digit',
      );
    }
    if (by?.tenant !== undefined && p.tenant !== undefined && p.tenant !== by.tenant) {
      throw new AuditlogError('FORBIDDEN', `this token may only create tokens of tenant ${by.tenant}`);
    }
    const tenant = p.tenant ?? by?.tenant;
    const token = `alt_${randomBytes(32).toString('base64url')}`;
    const hash = tokenHash(token).toString('hex');
    const principal: Principal = { role: p.role as Role, name, ...(tenant ? { tenant } : {}) };
    const stored: StoredToken = {
      ...principal,
      hash,
      created: new Date(this.now()).toISOString(),
      created_by: by?.name ?? CLI_ACTOR,
    };
    await this.change(async () => {
      if ((await this.rows()).some((t) => t.revoked === undefined && t.name === name)) {
        throw new AuditlogError('CONFLICT', `an active token is already named ${name}`);
      }
      // sync is honoured by classic-level through the sublevel, though its types omit it.
      await this.table.put(hash, JSON.stringify(stored), { sync: true } as object);
    });
    return { token, principal };
  }

  /**
   * Revokes every active token named `name`; resolves once the revocation is durable (one
   * synced batch) and no lookup can answer from a cached copy. `by` is the admin revoking
   * (undefined: the command line); an admin with a tenant revokes only its tenant's tokens.
   * @throws BAD_REQUEST (malformed name), NOT_FOUND (no active token of that name),
   *   FORBIDDEN (another tenant's token), CONFLICT (it would leave no active admin token
   *   without a tenant). Nothing is written when it throws.
   */
  async revoke(name: string, by?: Principal): Promise<TokenInfo[]> {
    checkName(name);
    return this.change(async () => {
      const active = (await this.rows()).filter((t) => t.revoked === undefined);
      const named = active.filter((t) => t.name === name);
      if (named.length === 0) throw new AuditlogError('NOT_FOUND', `no active token named ${name}`);
      if (by?.tenant !== undefined && named.some((t) => t.tenant !== by.tenant)) {
        throw new AuditlogError('FORBIDDEN', `token ${name} is not of tenant ${by.tenant}`);
      }
      if (named.some(isGlobalAdmin) && !active.some((t) => t.name !== name && isGlobalAdmin(t))) {
        throw new AuditlogError(
          'CONFLICT',
          `${name} is the last admin token without a tenant; create another before revoking it`,
        );
      }
      const revoked = new Date(this.now()).toISOString();
      const rows = named.map((t): StoredToken => ({ ...t, revoked, revoked_by: by?.name ?? CLI_ACTOR }));
      await this.table.batch(
        rows.map((t) => ({ type: 'put' as const, key: t.hash, value: JSON.stringify(t) })),
        { sync: true } as object,
      );
      // After the commit: a lookup still reading the old row sees the new generation and
      // does not cache what it read.
      this.generation++;
      for (const t of rows) this.cache.delete(t.hash);
      return rows.map(infoOf);
    });
  }

  /** Every token, active and revoked, without secrets, oldest first; `tenant` keeps that tenant's only. */
  async list(tenant?: string): Promise<TokenInfo[]> {
    return (await this.rows())
      .filter((t) => tenant === undefined || t.tenant === tenant)
      .sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.name < b.name ? -1 : 1))
      .map(infoOf);
  }

  /** The principal of a presented active token, or undefined. */
  async lookup(token: string): Promise<Principal | undefined> {
    if (token.length > 200) return undefined;
    const h = tokenHash(token);
    const key = h.toString('hex');
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < CACHE_TTL_MS) return hit.principal;
    const generation = this.generation;
    const at = this.now();
    const v = await this.table.get(key);
    if (!v) {
      this.cache.delete(key);
      return undefined;
    }
    const stored = JSON.parse(v) as StoredToken;
    if (!timingSafeEqual(Buffer.from(stored.hash, 'hex'), h)) return undefined;
    if (stored.revoked !== undefined) {
      this.cache.delete(key);
      return undefined;
    }
    const principal: Principal = {
      role: stored.role,
      name: stored.name,
      ...(stored.tenant ? { tenant: stored.tenant } : {}),
    };
    if (generation === this.generation) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, { principal, at });
    }
    return principal;
  }

  private async rows(): Promise<StoredToken[]> {
    const out: StoredToken[] = [];
    for await (const v of this.table.values()) out.push(JSON.parse(v) as StoredToken);
    return out;
  }

  /** Runs `fn` after every change before it has settled. */
  private change<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.changes.then(fn);
    this.changes = run.catch(() => {});
    return run;
  }
}

import { AuditlogError } from '../errors.js';
import type { SideOp } from '../storage/store.js';
import { newSubjectKey, unwrapSubjectKey, wrapSubjectKey } from './body-crypto.js';
import { type RecordStore, subjectPrefix } from './store.js';

/** A subject's key in one tenant, and whether its wrapped form is known to be committed. */
export interface SubjectKey {
  tag: Uint8Array;
  tenant: string;
  key: Uint8Array;
  wrapped: Uint8Array;
  durable: boolean;
}

/**
 * The per-subject AES-256-GCM keys, wrapped under the records wrap key in `rec-keys`, with a
 * bounded cache. A new key is not written on its own: every record sealed under a key that is
 * not yet known durable carries the (idempotent) put of the wrapped key in its own batch, so
 * a body is never committed without its key.
 */
export class SubjectKeys {
  private readonly cache = new Map<string, SubjectKey>();
  private readonly loading = new Map<string, Promise<SubjectKey>>();

  constructor(
    private readonly store: RecordStore,
    private readonly wrapKey: Uint8Array,
    private readonly maxCached = 10_000,
  ) {}

  private id(tag: Uint8Array, tenant: string): string {
    return `${Buffer.from(tag).toString('hex')}\0${tenant}`;
  }

  /** The subject's key in `tenant`, read from the store or freshly made (then not durable yet). */
  async get(tag: Uint8Array, tenant: string): Promise<SubjectKey> {
    const id = this.id(tag, tenant);
    const hit = this.cache.get(id);
    if (hit) {
      this.cache.delete(id);
      this.cache.set(id, hit); // most recently used last
      return hit;
    }
    let p = this.loading.get(id);
    if (!p) {
      p = this.load(tag, tenant).finally(() => this.loading.delete(id));
      this.loading.set(id, p);
    }
    const k = await p;
    this.remember(id, k);
    return k;
  }

  private async load(tag: Uint8Array, tenant: string): Promise<SubjectKey> {
    const wrapped = await this.store.get(this.store.keys, subjectPrefix(tag, tenant));
    if (wrapped !== undefined) {
      return {
        tag,
        tenant,
        key: unwrapSubjectKey(this.wrapKey, tag, tenant, wrapped),
        wrapped,
        durable: true,
      };
    }
    const key = newSubjectKey();
    return { tag, tenant, key, wrapped: wrapSubjectKey(this.wrapKey, tag, tenant, key), durable: false };
  }

  /** The subject's existing key in `tenant`, or undefined (never creates one). */
  async find(tag: Uint8Array, tenant: string): Promise<Uint8Array | undefined> {
    const hit = this.cache.get(this.id(tag, tenant));
    if (hit?.durable) return hit.key;
    const wrapped = await this.store.get(this.store.keys, subjectPrefix(tag, tenant));
    return wrapped === undefined ? undefined : unwrapSubjectKey(this.wrapKey, tag, tenant, wrapped);
  }

  private remember(id: string, k: SubjectKey): void {
    this.cache.set(id, k);
    if (this.cache.size <= this.maxCached) return;
    for (const [oldId, old] of this.cache) {
      // Only durable keys may be forgotten: a pending one must stay the subject's only key.
      if (old.durable) {
        this.cache.delete(oldId);
        return;
      }
    }
    throw new AuditlogError('OVERLOADED', 'too many subject keys waiting to be committed');
  }

  /** The side operations a record sealed under `k` must commit with. */
  opsFor(k: SubjectKey): SideOp[] {
    return k.durable ? [] : [this.store.put(this.store.keys, subjectPrefix(k.tag, k.tenant), k.wrapped)];
  }

  /** Called once a batch carrying `opsFor(k)` committed. */
  markDurable(k: SubjectKey): void {
    k.durable = true;
  }

  /** Forgets the subject's cached key (its row is deleted by the caller's batch). */
  forget(tag: Uint8Array, tenant: string): void {
    this.cache.delete(this.id(tag, tenant));
  }
}

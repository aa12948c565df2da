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
  /** Records sealed under it whose batch has neither committed nor failed yet (see `release`). */
  uses: number;
}

/**
 * The per-subject AES-256-GCM keys, wrapped under the records wrap key in `rec-keys`, with a
 * bounded cache. A new key is not written on its own: every record sealed under a key that is
 * not yet known durable carries the (idempotent) put of the wrapped key in its own batch, so
 * a body is never committed without its key.
 *
 * A key not yet durable must stay cached while records sealed under it may still commit (it is
 * the subject's only key until then), so the cache can only evict durable keys. Every `get` is
 * paired with a `release` once that record's batch has committed or failed; a key that ends up
 * unused and not durable (its records were all refused, say a batch with a leaf over the entry
 * limit) is dropped, so failed requests cannot fill the cache with keys nothing will ever
 * commit. When the cache is full of keys in use, `get` answers OVERLOADED without caching.
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

  /**
   * The subject's key in `tenant`, read from the store or freshly made (then not durable yet).
   * The caller must `release` it once the record sealed under it has committed or failed.
   * @throws AuditlogError('OVERLOADED') when the cache is full of keys not yet durable.
   */
  async get(tag: Uint8Array, tenant: string): Promise<SubjectKey> {
    const id = this.id(tag, tenant);
    const hit = this.cache.get(id);
    if (hit) {
      this.cache.delete(id);
      this.cache.set(id, hit); // most recently used last
      hit.uses++;
      return hit;
    }
    let p = this.loading.get(id);
    if (!p) {
      p = this.load(tag, tenant).finally(() => this.loading.delete(id));
      this.loading.set(id, p);
    }
    const k = await p;
    this.remember(id, k);
    k.uses++;
    return k;
  }

  /** Ends one `get`'s use of `k`; an unused key that never became durable is dropped. */
  release(k: SubjectKey): void {
    k.uses--;
    if (k.uses > 0 || k.durable) return;
    const id = this.id(k.tag, k.tenant);
    if (this.cache.get(id) === k) this.cache.delete(id);
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
        uses: 0,
      };
    }
    const key = newSubjectKey();
    return {
      tag,
      tenant,
      key,
      wrapped: wrapSubjectKey(this.wrapKey, tag, tenant, key),
      durable: false,
      uses: 0,
    };
  }

  /** The subject's existing key in `tenant`, or undefined (never creates one). */
  async find(tag: Uint8Array, tenant: string): Promise<Uint8Array | undefined> {
    const hit = this.cache.get(this.id(tag, tenant));
    if (hit?.durable) return hit.key;
    const wrapped = await this.store.get(this.store.keys, subjectPrefix(tag, tenant));
    return wrapped === undefined ? undefined : unwrapSubjectKey(this.wrapKey, tag, tenant, wrapped);
  }

  private remember(id: string, k: SubjectKey): void {
    if (!this.cache.has(id) && this.cache.size >= this.maxCached) {
      let evicted = false;
      for (const [oldId, old] of this.cache) {
        // Only durable keys may be forgotten: a pending one must stay the subject's only key.
        if (old.durable) {
          this.cache.delete(oldId);
          evicted = true;
          break;
        }
      }
      if (!evicted) throw new AuditlogError('OVERLOADED', 'too many subject keys waiting to be committed');
    }
    this.cache.set(id, k);
  }

  /** Keys cached, and how many of them are not known durable (tests, diagnostics). */
  cached(): { keys: number; pending: number } {
    let pending = 0;
    for (const k of this.cache.values()) if (!k.durable) pending++;
    return { keys: this.cache.size, pending };
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

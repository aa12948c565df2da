/**
 * Alerts: the evidence a witness or monitor found of log misbehaviour (spec/witness.md, "Alerts").
 *
 * An alert is persisted (sync) together with an outbox entry before anything else happens, so it
 * survives a crash; then it is written to stderr as one line, and the outbox is drained to the
 * webhook with retries until the webhook answers 2xx, across restarts. Alerts are deduplicated by
 * `id`, a hash of the evidence, so gossiping the same fork again does not raise it again.
 */
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { type BatchOp, commit, seqKey, type StateDB, tableRange } from './db.js';

export type AlertKind =
  /** Two checkpoints signed by the log that cannot both be true: a fork (split view). */
  | 'inconsistent'
  /** The log served a checkpoint smaller than one it had signed and served before. */
  | 'rollback'
  /** A signature line by the log's key that does not verify, served by the log. */
  | 'bad-signature'
  /** Monitor: the entries do not hash to the signed root. */
  | 'root-mismatch'
  /** Monitor: a tile the log serves disagrees with the hashes of its entries. */
  | 'tile-mismatch'
  /** Monitor: an entry that claims to be a record does not parse as one. */
  | 'bad-entry'
  /** Monitor: nothing new published for longer than the configured interval (a warning). */
  | 'stale'
  /**
   * Witness: a checkpoint of a log is not consistent with the checkpoint the operator pinned as
   * size and root (no signature by the log, so not proof of a fork by itself).
   */
  | 'pin-mismatch';

/** The proof tried between two checkpoints, and why it failed. */
export interface AlertProof {
  old_size: string;
  new_size: string;
  /** Base64 hashes as received; empty when the log could not give a proof. */
  hashes: string[];
  error: string;
}

export interface Alert {
  /** Lowercase hex SHA-256 of kind, origin and the checkpoint bodies: the same evidence has the same id. */
  id: string;
  kind: AlertKind;
  origin: string;
  /** Signed notes verbatim: [0] the reporter's own view, [1] the conflicting one (if any). */
  checkpoints: string[];
  /** Where each checkpoint came from (a URL, or `add-checkpoint`). */
  sources: string[];
  proof: AlertProof | null;
  detail: string;
  /** RFC 3339 UTC time the reporter saw it. */
  seen_at: string;
  /** The reporter's name (witness key name, or `monitor`). */
  seen_by: string;
}

export type NewAlert = Omit<Alert, 'id' | 'seen_at' | 'seen_by'>;

/** Most alerts kept; beyond it new alerts only go to stderr (a log forking forever cannot fill the disk). */
export const MAX_ALERTS = 10_000;

export interface AlertLogOptions {
  /** The reporter's name, written into every alert. */
  seenBy: string;
  /** URL to POST each alert to (JSON), retried until it answers 2xx. */
  webhook?: string;
  /** Where alert lines go (default process.stderr). */
  stderr?: { write(s: string): unknown };
  /** First retry delay in ms (default 250), doubled up to maxRetryMs (default 30 s). */
  retryMs?: number;
  maxRetryMs?: number;
  now?: () => number;
}

function checkpointBody(note: string): string {
  const i = note.indexOf('\n\n');
  return i < 0 ? note : note.slice(0, i + 1);
}

/** The id of an alert: hex SHA-256 over kind, origin and the checkpoint bodies (not their signatures). */
export function alertId(a: Pick<Alert, 'kind' | 'origin' | 'checkpoints'>): string {
  const h = createHash('sha256');
  h.update(`${a.kind}\n${a.origin}\n`);
  for (const c of a.checkpoints) h.update(`${checkpointBody(c).length}\n${checkpointBody(c)}`);
  return h.digest('hex');
}

export class AlertLog {
  private next = 0n;
  private count = 0;
  private lock: Promise<unknown> = Promise.resolve();
  private wake: (() => void) | undefined;
  private delivering: Promise<void> | undefined;
  private cancel: (() => void) | undefined;
  private dirty = false;
  private closed = false;

  private constructor(
    private readonly db: StateDB,
    private readonly opts: AlertLogOptions,
  ) {}

  /** Opens the alert tables of `db` and starts delivering what the outbox holds. */
  static async open(db: StateDB, opts: AlertLogOptions): Promise<AlertLog> {
    const log = new AlertLog(db, opts);
    for await (const key of db.keys({ ...tableRange('alert'), reverse: true, limit: 1 })) {
      log.next = BigInt(`0x${key.slice('alert/'.length)}`) + 1n;
    }
    for await (const _ of db.keys(tableRange('alert'))) log.count++;
    if (opts.webhook !== undefined) log.delivering = log.deliverLoop(opts.webhook);
    return log;
  }

  /**
   * Records an alert: persisted with its outbox entry in one synced batch, then written to stderr
   * and handed to the webhook. Returns the alert, or undefined when the same evidence was
   * already recorded (or the store is full).
   *
   * `also` adds writes to that batch (the witness's fork state), so they are durable exactly when
   * the alert is. It is called only for new evidence: not when the same id is already stored.
   * When the store is full the alert is not stored but `also`'s writes still are (synced).
   */
  raise(a: NewAlert, also?: (alert: Alert) => BatchOp[]): Promise<Alert | undefined> {
    const run = this.lock.then(() => this.raiseLocked(a, also));
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async raiseLocked(a: NewAlert, also?: (alert: Alert) => BatchOp[]): Promise<Alert | undefined> {
    const alert: Alert = {
      id: alertId(a),
      ...a,
      seen_at: new Date(this.opts.now?.() ?? Date.now()).toISOString(),
      seen_by: this.opts.seenBy,
    };
    const stderr = this.opts.stderr ?? process.stderr;
    if ((await this.db.get(`alert-id/${alert.id}`)) !== undefined) return undefined;
    const extra = also?.(alert) ?? [];
    if (this.count >= MAX_ALERTS) {
      if (extra.length > 0) await commit(this.db, extra);
      stderr.write(`ALERT (not stored: ${MAX_ALERTS} alerts kept) ${JSON.stringify(alert)}\n`);
      return undefined;
    }
    const key = seqKey(this.next);
    const ops: BatchOp[] = [
      { type: 'put', key: `alert/${key}`, value: JSON.stringify(alert) },
      { type: 'put', key: `alert-id/${alert.id}`, value: key },
      ...extra,
    ];
    if (this.opts.webhook !== undefined) ops.push({ type: 'put', key: `outbox/${key}`, value: '' });
    await commit(this.db, ops);
    this.next++;
    this.count++;
    stderr.write(`ALERT ${JSON.stringify(alert)}\n`);
    this.dirty = true;
    this.wake?.();
    return alert;
  }

  /** All stored alerts, oldest first. */
  async list(): Promise<Alert[]> {
    const out: Alert[] = [];
    for await (const v of this.db.values(tableRange('alert'))) out.push(JSON.parse(v) as Alert);
    return out;
  }

  /** Alerts waiting for the webhook. */
  async pending(): Promise<number> {
    let n = 0;
    for await (const _ of this.db.keys(tableRange('outbox'))) n++;
    return n;
  }

  private async deliverLoop(url: string): Promise<void> {
    const base = this.opts.retryMs ?? 250;
    const max = this.opts.maxRetryMs ?? 30_000;
    let delay = base;
    while (!this.closed) {
      this.dirty = false;
      let failed = false;
      for await (const key of this.db.keys(tableRange('outbox'))) {
        if (this.closed) return;
        const body = await this.db.get(`alert/${key.slice('outbox/'.length)}`);
        if (body === undefined || (await post(url, body))) {
          await commit(this.db, [{ type: 'del', key }]);
        } else {
          failed = true;
          break;
        }
      }
      if (failed) {
        await this.sleep(delay, false);
        delay = Math.min(delay * 2, max);
      } else {
        delay = base;
        await this.sleep(max, true);
      }
    }
  }

  /** Waits `ms`; a wakeable wait ends early when an alert is raised (or was, since the last pass). */
  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.closed || (wakeable && this.dirty)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.cancel = undefined;
        resolve();
      };
      this.cancel = done;
      if (wakeable) this.wake = done;
    });
  }

  /** Stops delivering (the outbox is kept for the next start). */
  async close(): Promise<void> {
    this.closed = true;
    this.cancel?.();
    await this.lock;
    await this.delivering;
  }
}

/** POSTs one alert; true on a 2xx answer. Never throws. */
async function post(url: string, body: string): Promise<boolean> {
  try {
    const res = await request(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 300;
  } catch {
    return false;
  }
}

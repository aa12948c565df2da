/**
 * Alerts: the evidence a witness or monitor found of log misbehaviour (spec/witness.md, "Alerts").
 *
 * An alert is persisted (sync) together with an outbox entry before anything else happens, so it
 * survives a crash; then it is written to stderr as one line, and the outbox is drained to the
 * webhook with retries until the webhook answers 2xx, across restarts. Alerts are deduplicated by
 * `id`, a hash of the evidence, so gossiping the same fork again does not raise it again.
 *
 * What is stored of an alert is bounded (`boundAlert`): a note over MAX_STORED_NOTE_BYTES is kept
 * as its first bytes, its length and its SHA-256; a `detail` or proof error over
 * MAX_STORED_TEXT_BYTES is cut. Alerts are read back a page at a time (`page`).
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
  /**
   * Present when a checkpoint was over MAX_STORED_NOTE_BYTES, one item per such checkpoint (in
   * index order): `checkpoints[index]` then holds only the note's first NOTE_PREFIX_BYTES bytes;
   * `bytes` is the whole note's length in UTF-8 bytes and `sha256` the lowercase hex SHA-256 of
   * those bytes, so that anyone holding the note can tell that it is the one the alert cites.
   */
  truncated?: TruncatedNote[];
}

/** A checkpoint of an alert stored as a prefix: see `Alert.truncated`. */
export interface TruncatedNote {
  index: number;
  bytes: number;
  sha256: string;
}

export type NewAlert = Omit<Alert, 'id' | 'seen_at' | 'seen_by'>;

/** Most alerts kept; beyond it new alerts only go to stderr (a log forking forever cannot fill the disk). */
export const MAX_ALERTS = 10_000;

/**
 * Largest note an alert keeps whole, in UTF-8 bytes. A checkpoint, even with a few dozen
 * cosignatures, is a few KiB; a larger one carries large extension lines (tlog-checkpoint allows
 * them, up to the 128 KiB a note may have), and a log serving those would otherwise store up to
 * two such notes per alert (10,000 alerts of 256 KiB: 2.5 GiB) and put them on every line of
 * stderr and every answer of GET /v1/witness/alerts.
 */
export const MAX_STORED_NOTE_BYTES = 16 * 1024;

/** Bytes kept of a note over MAX_STORED_NOTE_BYTES: its origin, size and root lines, and more. */
export const NOTE_PREFIX_BYTES = 1024;

/** Longest `detail` or `proof.error` stored, in UTF-8 bytes; longer ones are cut (and say so). */
export const MAX_STORED_TEXT_BYTES = 4096;

/** Default and largest number of alerts in one page (GET /v1/witness/alerts `limit`). */
export const DEFAULT_ALERTS_PAGE = 100;
export const MAX_ALERTS_PAGE = 1000;

/**
 * Most bytes of alert JSON in one page: a page stops before the alert that would cross it (a
 * page always holds at least one alert, whatever its size). A stored alert is at most about
 * 50 KiB (two notes, two texts, a proof), so 1 MiB holds at least 20.
 */
export const MAX_ALERTS_PAGE_BYTES = 1024 * 1024;

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

/**
 * The text of the first bytes of `bytes` (UTF-8), at most `max`, cut at a character boundary
 * (never in the middle of a multi-byte sequence).
 */
function utf8Prefix(bytes: Buffer, max: number): string {
  let end = Math.min(max, bytes.length);
  // A continuation byte (10xxxxxx) at `end` means the cut falls inside a character.
  while (end > 0 && end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** `s` if it fits in MAX_STORED_TEXT_BYTES, else its first bytes and a note of the cut. */
function boundText(s: string): string {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length <= MAX_STORED_TEXT_BYTES) return s;
  return `${utf8Prefix(bytes, MAX_STORED_TEXT_BYTES)}... (truncated from ${bytes.length} bytes)`;
}

/**
 * The alert as stored, served and delivered: notes over MAX_STORED_NOTE_BYTES replaced by their
 * first NOTE_PREFIX_BYTES bytes and listed in `truncated` with their length and SHA-256; `detail`
 * and `proof.error` cut to MAX_STORED_TEXT_BYTES. The id is not changed: it was computed from
 * the whole notes, so the same evidence is still recognized.
 */
export function boundAlert(a: Alert): Alert {
  const truncated: TruncatedNote[] = [];
  const checkpoints = a.checkpoints.map((note, index) => {
    const bytes = Buffer.from(note, 'utf8');
    if (bytes.length <= MAX_STORED_NOTE_BYTES) return note;
    truncated.push({ index, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    return utf8Prefix(bytes, NOTE_PREFIX_BYTES);
  });
  const proof = a.proof === null ? null : { ...a.proof, error: boundText(a.proof.error) };
  return {
    ...a,
    checkpoints,
    proof,
    detail: boundText(a.detail),
    ...(truncated.length > 0 ? { truncated } : {}),
  };
}

/** One page of stored alerts: their JSON texts, oldest first, and where the next page starts. */
export interface AlertPage {
  /** Each alert's JSON text, as stored. */
  alerts: string[];
  /** The sequence number to ask from next: one past the last alert returned (else `from`). */
  next: bigint;
  /** True when alerts beyond this page were stored when it was read. */
  more: boolean;
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
    const alert: Alert = boundAlert({
      id: alertId(a),
      ...a,
      seen_at: new Date(this.opts.now?.() ?? Date.now()).toISOString(),
      seen_by: this.opts.seenBy,
    });
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

  /**
   * All stored alerts, oldest first, parsed: for tests and tools reading a database they know to
   * be small. A server answers with `page`.
   */
  async list(): Promise<Alert[]> {
    const out: Alert[] = [];
    for await (const v of this.db.values(tableRange('alert'))) out.push(JSON.parse(v) as Alert);
    return out;
  }

  /**
   * The stored alerts numbered `from` and on (alerts are numbered from 0 in the order raised), at
   * most `limit` of them and, after the first, at most `maxBytes` bytes of JSON in all.
   * Requires 1 <= limit and 0 <= from < 2^64.
   */
  async page(from: bigint, limit: number, maxBytes = MAX_ALERTS_PAGE_BYTES): Promise<AlertPage> {
    const alerts: string[] = [];
    let bytes = 0;
    let next = from;
    let more = false;
    const range = { gte: `alert/${seqKey(from)}`, lt: tableRange('alert').lt, limit: limit + 1 };
    for await (const [key, value] of this.db.iterator(range)) {
      const size = Buffer.byteLength(value, 'utf8');
      if (alerts.length >= limit || (alerts.length > 0 && bytes + size > maxBytes)) {
        more = true;
        break;
      }
      alerts.push(value);
      bytes += size;
      next = BigInt(`0x${key.slice('alert/'.length)}`) + 1n;
    }
    return { alerts, next, more };
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

/**
 * The witness (spec/witness.md): cosigns checkpoints of the logs it is configured with, after
 * checking that each one extends the last one it cosigned; polls those logs; compares its view
 * with what its peers saw; and raises an alert with the evidence when two signed checkpoints of
 * one log cannot both be true.
 *
 * The state per log is the latest cosigned checkpoint. It only moves forward: every update is a
 * compare-and-swap on the size, made under the log's lock and persisted (sync) before anyone is
 * answered or anything is cosigned on top of it. Before the first one, checkpoints are checked
 * against the operator's pin when there is one (trust on first use otherwise).
 *
 * A log the witness holds proof of a fork for (an `inconsistent` alert) is in the forked state
 * (forks.ts): nothing more is cosigned for it until an operator clears the state, while polling
 * and gossip keep collecting evidence.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { TileFetcher } from '../client/tile-proofs.js';
import { AuditlogError, oneLine } from '../errors.js';
import { equalHashes } from '../merkle/hasher.js';
import { verifyConsistency } from '../merkle/verify.js';
import { EMPTY_ROOT } from '../merkle/rfc6962.js';
import { type Checkpoint, checkOrigin, parseCheckpoint } from '../note/checkpoint.js';
import { cosign } from '../note/cosignature.js';
import { encodeBase64, utf8 } from '../note/encoding.js';
import { formatVerifierKey, SIG_TYPE_COSIGNATURE_V1, type VerifierKey } from '../note/keys.js';
import {
  addSignatures,
  formatNote,
  isSignatureBy,
  type NoteSignature,
  parseNote,
  verifyNote,
} from '../note/note.js';
import type { Signer } from '../note/signer.js';
import { type Alert, AlertLog, type AlertProof, type NewAlert } from './alerts.js';
import { commit, openStateDB, type StateDB, tableRange } from './db.js';
import { fetchCheckpoint, MAX_CHECKPOINT_BYTES } from './fetch.js';
import { checkPrefix, httpTileFetcher, type TreeHead } from './tile-consistency.js';
import { type ClearedFork, type ForkState, forkOps, listClearedForks, loadForks } from './forks.js';
import { openWitnessKey } from './keyfile.js';
import { formatCosignatureLines, parseAddCheckpoint } from './wire.js';

/**
 * A log this witness cosigns, identified by its origin (tlog-witness: "each log, uniquely
 * identified by its origin line"): one of its trusted keys and, to poll it, its URL. Several
 * entries with one origin give that log several trusted keys (a key rotation); at most one URL.
 * A checkpoint's log signature is a line whose key name and key ID match one of the keys of the
 * checkpoint's origin (signed-note); a key trusts no other origin, whatever its name.
 */
export interface WitnessedLog {
  key: VerifierKey;
  url?: string;
  /**
   * The origin line of the log's checkpoints. Default: the key's name (tlog-checkpoint: the key
   * name SHOULD match the origin; the Go checksum database's does not).
   */
  origin?: string;
  /** Bearer token for reading the log at `url` (`--log-token`: a log served with --private-reads). */
  token?: string;
}

/** The origin of a configured log: its own, else its key's name. */
export function originOf(log: WitnessedLog): string {
  return log.origin ?? log.key.name;
}

/** One origin's trusted keys and URL. */
interface LogEntry {
  keys: VerifierKey[];
  url?: string;
  token?: string;
}

/**
 * A starting checkpoint the operator trusts for a log, in place of trust on first use: until the
 * witness has cosigned a checkpoint of that log, it answers as if it had cosigned this one, so the
 * first checkpoint it cosigns must be this one or extend it (by a verified consistency proof).
 */
export interface PinnedCheckpoint {
  /** The log's origin; must be a witnessed log. */
  origin: string;
  /** Tree size, at least 1. */
  size: bigint;
  /** Root hash (32 bytes). */
  root: Uint8Array;
  /**
   * The signed checkpoint the pin was read from, verbatim. It must verify under the log's keys
   * and carry `origin`, `size` and `root`. Without it the pin is only a size and a root, and a
   * checkpoint that contradicts it raises `pin-mismatch` rather than `inconsistent`.
   */
  note?: string;
}

/** What a new checkpoint of a log is checked against: the latest cosigned one, else the pin. */
interface Anchor {
  size: bigint;
  root: Uint8Array;
  /** The signed note; undefined for a pin given as size and root only. */
  note: string | undefined;
  /** Where it came from: a log URL, `add-checkpoint`, or `pin`. */
  source: string;
}

/** A witnessed log as `GET /v1/witness/status` shows it. */
export interface LogStatus {
  origin: string;
  /** The log keys trusted for this origin (vkeys; their names need not be the origin). */
  keys: string[];
  /** The latest cosigned checkpoint (size as a decimal string, root in base64), or null. */
  size: string | null;
  root: string | null;
  source: string | null;
  /** The configured pin, or null. `applies`: nothing is cosigned yet, so the pin is in force. */
  pin: { size: string; root: string; signed: boolean; applies: boolean } | null;
  /** Why the log is no longer cosigned, or null when it is. */
  fork: ForkState | null;
  /** Every clear of a fork state of this log, oldest first. */
  cleared: ClearedFork[];
}

export interface WitnessOptions {
  /** Data directory: `witness.key` (0600) and `db/`. */
  dir: string;
  /** The witness's key name (a schema-less URL by convention). */
  name: string;
  logs: WitnessedLog[];
  /**
   * Starting checkpoints, at most one per witnessed origin (default: none, trust on first use).
   * A pin applies only while nothing is cosigned for its log; a pin that contradicts the cosigned
   * checkpoint of the same size refuses the start.
   */
  pins?: PinnedCheckpoint[];
  /** URL alerts are POSTed to. */
  webhook?: string;
  /** Where alert and warning lines go (default process.stderr). */
  stderr?: { write(s: string): unknown };
  /** Clock in ms since the epoch (tests). */
  now?: () => number;
}

/** The latest checkpoint the witness cosigned for one log. */
export interface LogView {
  checkpoint: Checkpoint;
  /** The signed checkpoint as received, verbatim. */
  note: string;
  /** The same note with this witness's cosignature added: what peers are shown. */
  cosigned: string;
  /** Where it came from: the log's URL or `add-checkpoint`. */
  source: string;
}

/** The answer to an add-checkpoint request, by HTTP status. */
export type AddCheckpointResult =
  | { status: 200; body: string }
  | { status: 409; size: bigint }
  | { status: 400 | 403 | 404 | 409 | 413 | 422 | 503; message: string };

/**
 * `note` with only the signatures of `keys` that verify: the checkpoint as a witness keeps,
 * gossips and cites it. Lines by unknown keys are ignored (signed-note); kept, they would let a
 * log pad the cosigned note past what peers read (spec/witness.md, section 4).
 * @throws AuditlogError as verifyNote does (no valid signature by `keys`, a failing one, bad note).
 */
export function logSignedOnly(note: string, keys: readonly VerifierKey[]): string {
  const { note: parsed, verified } = verifyNote(note, keys);
  return formatNote({
    text: parsed.text,
    signatures: parsed.signatures.filter((sg) => verified.some((k) => isSignatureBy(sg, k))),
  });
}

/** Most add-checkpoint requests waiting for one log's lock; beyond it the answer is 503. */
export const MAX_WAITING_PER_LOG = 256;

/** What a comparison of two signed checkpoints concluded. */
export type Comparison = 'consistent' | 'alert' | 'unknown';

interface StoredView {
  size: string;
  root: string;
  note: string;
  cosigned: string;
  source: string;
}

/** Most concluded comparisons remembered (Witness.checked): 10,000 keys of 64 characters. */
const MAX_CHECKED_MEMO = 10_000;

/**
 * The key under which a concluded comparison is remembered: hex SHA-256 of the origin, the
 * stored size it was compared with and the other checkpoint's note text (signatures excluded).
 * A digest, not the text itself, so that a log signing checkpoints with large extension lines
 * (up to 128 KiB each) cannot make the memo hold 10,000 of them.
 */
function memoKey(origin: string, storedSize: bigint, text: string): string {
  return createHash('sha256').update(`${origin}\n${storedSize}\n${text}`).digest('hex');
}

export class Witness {
  private readonly views = new Map<string, LogView>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /**
   * The comparisons concluded (consistent or alerted), not asked again: each one's memoKey, a
   * 32-byte digest (64 hex characters) whatever the size of the checkpoint. At most
   * MAX_CHECKED_MEMO keys; when full it is emptied.
   */
  private readonly checked = new Set<string>();
  private readonly logs = new Map<string, LogEntry>();
  private readonly lastWarning = new Map<string, string>();
  private readonly investigating = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, number>();
  private readonly pins = new Map<string, PinnedCheckpoint>();
  private forks = new Map<string, ForkState>();

  private constructor(
    readonly signer: Signer,
    private readonly db: StateDB,
    readonly alerts: AlertLog,
    logs: readonly WitnessedLog[],
    private readonly stderr: { write(s: string): unknown },
    private readonly now: () => number,
  ) {
    for (const l of logs) {
      const e = this.logs.get(originOf(l)) ?? { keys: [] };
      e.keys.push(l.key);
      if (l.url !== undefined) e.url = l.url;
      if (l.token !== undefined) e.token = l.token;
      this.logs.set(originOf(l), e);
    }
  }

  /**
   * Opens (creating) the witness in `opts.dir`.
   * @throws AuditlogError 'BAD_KEY' (a log key that is not type 0x01), 'BAD_CHECKPOINT' (a log
   *   origin that cannot be an origin line), 'CONFLICT' (one key given twice, even for two
   *   origins, two URLs for one origin, a key file for another name, a pin for an origin that is
   *   not witnessed, two pins for one origin, or a pin that contradicts the cosigned checkpoint of
   *   its size), 'BAD_REQUEST' (a pin of size 0 or with a root that is not 32 bytes),
   *   'BAD_SIGNATURE' / 'UNKNOWN_KEY' (a pinned signed checkpoint that does not verify under the
   *   log's keys), 'BAD_CHECKPOINT' (one that does not match its pin), 'STORAGE' (database locked
   *   or unreadable).
   */
  static async open(opts: WitnessOptions): Promise<Witness> {
    const keys = new Set<string>();
    const urls = new Map<string, string>();
    const keysOf = new Map<string, VerifierKey[]>();
    for (const l of opts.logs) {
      if (l.key.type !== 0x01)
        throw new AuditlogError('BAD_KEY', `log key ${l.key.name} must have type 0x01`);
      const origin = originOf(l);
      checkOrigin(origin);
      const id = `${l.key.name}+${encodeBase64(l.key.publicKey)}`;
      if (keys.has(id)) throw new AuditlogError('CONFLICT', `log key of ${l.key.name} given twice`);
      keys.add(id);
      keysOf.set(origin, [...(keysOf.get(origin) ?? []), l.key]);
      if (l.url === undefined) continue;
      const other = urls.get(origin);
      if (other !== undefined && other !== l.url) {
        throw new AuditlogError('CONFLICT', `two URLs for origin ${origin}`);
      }
      urls.set(origin, l.url);
    }
    const pins = new Map<string, PinnedCheckpoint>();
    for (const p of opts.pins ?? []) {
      checkPin(p, keysOf.get(p.origin));
      if (pins.has(p.origin)) throw new AuditlogError('CONFLICT', `two pins for origin ${p.origin}`);
      pins.set(p.origin, p);
    }
    const { signer } = openWitnessKey(opts.dir, opts.name);
    const db = await openStateDB(join(opts.dir, 'db'));
    try {
      const stderr = opts.stderr ?? process.stderr;
      const alerts = await AlertLog.open(db, { seenBy: opts.name, webhook: opts.webhook, stderr });
      const w = new Witness(signer, db, alerts, opts.logs, stderr, opts.now ?? Date.now);
      for await (const [key, value] of db.iterator(tableRange('log'))) {
        const s = JSON.parse(value) as StoredView;
        const checkpoint = parseCheckpoint(parseNote(s.note).text);
        if (checkpoint.size.toString() !== s.size || encodeBase64(checkpoint.root) !== s.root) {
          throw new AuditlogError('STORAGE', `witness state for ${key} is corrupt`);
        }
        w.views.set(checkpoint.origin, { checkpoint, note: s.note, cosigned: s.cosigned, source: s.source });
      }
      for (const [origin, p] of pins) {
        const v = w.views.get(origin)?.checkpoint;
        if (v !== undefined && v.size === p.size && !equalHashes(v.root, p.root)) {
          throw new AuditlogError(
            'CONFLICT',
            `the pin of ${origin} (size ${p.size}, root ${encodeBase64(p.root)}) contradicts the checkpoint this witness cosigned at that size (root ${encodeBase64(v.root)})`,
          );
        }
        if (v !== undefined && v.size < p.size) {
          stderr.write(
            `auditlog witness: the pin of ${origin} at size ${p.size} does not apply: this witness already cosigned size ${v.size}\n`,
          );
        }
        w.pins.set(origin, p);
      }
      w.forks = await loadForks(db);
      for (const [origin, f] of w.forks) {
        if (!w.logs.has(origin)) continue;
        stderr.write(
          `auditlog witness: log ${origin} is forked since ${f.since} (alert ${f.alert}); not cosigning it until 'auditlog witness clear-fork'\n`,
        );
      }
      return w;
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** The witness's verifier key (signature type 0x04). */
  get vkey(): string {
    return formatVerifierKey(this.signer.name, this.signer.publicKey, SIG_TYPE_COSIGNATURE_V1);
  }

  /** The configured logs, one per origin (with its first key). */
  get witnessedLogs(): WitnessedLog[] {
    return [...this.logs.entries()].map(([origin, e]) => ({
      key: e.keys[0]!,
      origin,
      ...(e.url === undefined ? {} : { url: e.url }),
      ...(e.token === undefined ? {} : { token: e.token }),
    }));
  }

  /** The latest cosigned checkpoint of `origin`, if any. */
  view(origin: string): LogView | undefined {
    return this.views.get(origin);
  }

  /** Every log's latest cosigned checkpoint (what `GET /v1/witness/checkpoints` serves). */
  allViews(): { origin: string; checkpoint: string }[] {
    return [...this.views.entries()].map(([origin, v]) => ({ origin, checkpoint: v.cosigned }));
  }

  /** Why `origin` is no longer cosigned, or undefined when it is not forked. */
  fork(origin: string): ForkState | undefined {
    return this.forks.get(origin);
  }

  /** Every witnessed log's state (what `GET /v1/witness/status` serves). */
  async status(): Promise<LogStatus[]> {
    const cleared = await listClearedForks(this.db);
    return [...this.logs.keys()].map((origin) => {
      const v = this.views.get(origin);
      const p = this.pins.get(origin);
      return {
        origin,
        keys: this.logs.get(origin)!.keys.map((k) => formatVerifierKey(k.name, k.publicKey, k.type)),
        size: v === undefined ? null : v.checkpoint.size.toString(),
        root: v === undefined ? null : encodeBase64(v.checkpoint.root),
        source: v?.source ?? null,
        pin:
          p === undefined
            ? null
            : {
                size: p.size.toString(),
                root: encodeBase64(p.root),
                signed: p.note !== undefined,
                applies: v === undefined,
              },
        fork: this.forks.get(origin) ?? null,
        cleared: cleared.filter((c) => c.origin === origin),
      };
    });
  }

  /** The latest cosigned checkpoint of `origin`, else its pin, else undefined (trust on first use). */
  private anchor(origin: string): Anchor | undefined {
    const v = this.views.get(origin);
    if (v !== undefined)
      return { size: v.checkpoint.size, root: v.checkpoint.root, note: v.note, source: v.source };
    const p = this.pins.get(origin);
    if (p !== undefined) return { size: p.size, root: p.root, note: p.note, source: 'pin' };
    return undefined;
  }

  private forkedAnswer(origin: string, f: ForkState): AddCheckpointResult {
    return {
      status: 403,
      message: `log ${origin} is forked (alert ${f.alert}, since ${f.since}); this witness no longer cosigns it`,
    };
  }

  /**
   * Compares a submitted checkpoint with the log's own answers in the background, for evidence.
   * Anyone can send a genuine checkpoint with a bad proof; only the log's own answer is evidence.
   * One question to the log per origin at a time, so requests cannot amplify.
   */
  private investigate(origin: string, note: string): void {
    if (this.investigating.has(origin)) return;
    const run = this.checkView(origin, note, 'add-checkpoint')
      .then(() => undefined)
      .catch(() => undefined)
      .finally(() => this.investigating.delete(origin));
    this.investigating.set(origin, run);
  }

  private withLock<T>(origin: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.locks.get(origin) ?? Promise.resolve()).then(fn, fn);
    this.locks.set(
      origin,
      run.catch(() => undefined),
    );
    return run;
  }

  /**
   * Handles a tlog-witness v1 add-checkpoint request body (spec/witness.md for the order of the
   * checks). On 200 the new state is durable before this resolves.
   */
  async addCheckpoint(body: string): Promise<AddCheckpointResult> {
    let req: ReturnType<typeof parseAddCheckpoint>;
    let text: string;
    try {
      req = parseAddCheckpoint(body);
      text = parseNote(req.note).text;
    } catch (e) {
      return { status: 400, message: (e as Error).message };
    }
    const origin = text.slice(0, text.indexOf('\n'));
    const log = this.logs.get(origin);
    if (log === undefined) return { status: 404, message: `unknown log origin ${JSON.stringify(origin)}` };
    /** The checkpoint as this witness keeps, gossips and cites it (logSignedOnly). */
    let logNote: string;
    try {
      logNote = logSignedOnly(req.note, log.keys);
    } catch (e) {
      // A note this witness refuses to read (two lines by the log's key: spec/signed-note.md) is
      // malformed input, 400; 403 is for signatures that do not verify, as tlog-witness says.
      if (e instanceof AuditlogError && e.code === 'BAD_NOTE') return { status: 400, message: e.message };
      return { status: 403, message: `no valid signature by the log key: ${(e as Error).message}` };
    }
    if (!this.fitsGossip(logNote)) {
      return {
        status: 413,
        message: `the cosigned checkpoint would exceed ${MAX_CHECKPOINT_BYTES} bytes, more than witnesses read from each other`,
      };
    }
    let cp: Checkpoint;
    try {
      cp = parseCheckpoint(text);
    } catch (e) {
      return { status: 400, message: (e as Error).message };
    }
    if (req.oldSize > cp.size)
      return { status: 400, message: `old size ${req.oldSize} > checkpoint size ${cp.size}` };
    const forked = this.forks.get(origin);
    if (forked !== undefined) {
      // Not cosigned, but still compared with what this witness holds: more evidence, if any.
      this.investigate(origin, logNote);
      return this.forkedAnswer(origin, forked);
    }
    const waiting = this.waiting.get(origin) ?? 0;
    if (waiting >= MAX_WAITING_PER_LOG)
      return { status: 503, message: 'too many requests for this log; retry' };
    this.waiting.set(origin, waiting + 1);
    const result = await this.withLock(
      origin,
      async (): Promise<AddCheckpointResult | { investigate: true }> => {
        const forkedNow = this.forks.get(origin);
        if (forkedNow !== undefined) return this.forkedAnswer(origin, forkedNow);
        const ours = this.anchor(origin);
        const known = ours?.size ?? 0n;
        if (req.oldSize !== known) return { status: 409, size: known };
        if (req.oldSize === cp.size) {
          const root = ours?.root ?? EMPTY_ROOT;
          if (!equalHashes(root, cp.root)) {
            if (ours !== undefined) await this.raise(sameSizeFork(origin, ours, logNote, 'add-checkpoint'));
            const what = ours?.source === 'pin' ? 'was pinned' : 'was cosigned';
            return { status: 409, message: `a checkpoint of size ${cp.size} with another root ${what}` };
          }
          // RFC 6962's consistency proof between equal sizes is empty (tlog-witness: "MUST be
          // empty if the old size is zero"); stray lines are a proof that does not verify.
          if (req.proof.length !== 0)
            return { status: 422, message: 'a consistency proof between equal sizes is empty' };
        } else {
          try {
            verifyConsistency(req.oldSize, cp.size, req.proof, ours?.root ?? EMPTY_ROOT, cp.root);
          } catch {
            return { investigate: true };
          }
        }
        const sig = await this.store(origin, cp, logNote, 'add-checkpoint');
        return { status: 200, body: formatCosignatureLines([sig]) };
      },
    ).finally(() => this.waiting.set(origin, (this.waiting.get(origin) ?? 1) - 1));
    if ('investigate' in result) {
      this.investigate(origin, logNote);
      return { status: 422, message: 'the consistency proof does not verify' };
    }
    return result;
  }

  /**
   * Whether `logNote` with this witness's cosignature line (`— <name> <base64 of 76 bytes>\n`)
   * fits in what peers read from each other (MAX_CHECKPOINT_BYTES).
   */
  private fitsGossip(logNote: string): boolean {
    return utf8(logNote).length + utf8(`\u2014 ${this.signer.name} \n`).length + 104 <= MAX_CHECKPOINT_BYTES;
  }

  /**
   * Cosigns and persists a checkpoint. Precondition: under the origin's lock, checks done.
   * @throws AuditlogError('INCONSISTENT') when the log is forked (callers check first).
   */
  private async store(origin: string, cp: Checkpoint, note: string, source: string): Promise<NoteSignature> {
    if (this.forks.has(origin)) throw new AuditlogError('INCONSISTENT', `log ${origin} is forked`);
    const sig = await cosign(parseNote(note).text, this.signer, BigInt(Math.floor(this.now() / 1000)));
    const cosigned = addSignatures(note, [sig]);
    const stored: StoredView = {
      size: cp.size.toString(),
      root: encodeBase64(cp.root),
      note,
      cosigned,
      source,
    };
    await commit(this.db, [{ type: 'put', key: `log/${origin}`, value: JSON.stringify(stored) }]);
    this.views.set(origin, { checkpoint: cp, note, cosigned, source });
    return sig;
  }

  /**
   * Raises an alert. An `inconsistent` one about a witnessed log that is not forked yet also puts
   * the log in the forked state, in the alert's synced batch. The state is taken in memory before
   * that write, so nothing is cosigned for the log from then on (even if the write fails).
   */
  private async raise(a: NewAlert): Promise<Alert | undefined> {
    if (a.kind !== 'inconsistent' || !this.logs.has(a.origin)) return this.alerts.raise(a);
    const origin = a.origin;
    let entered: ForkState | undefined;
    const alert = await this.alerts.raise(a, (al) => {
      if (this.forks.has(origin)) return [];
      entered = { alert: al.id, since: al.seen_at, detail: al.detail };
      this.forks.set(origin, entered);
      return forkOps(origin, entered);
    });
    if (entered !== undefined) {
      this.stderr.write(
        `auditlog witness: log ${origin} is forked (alert ${entered.alert}); no longer cosigning it. To resume after review, stop the witness and run 'auditlog witness clear-fork --log ${origin} --data DIR'\n`,
      );
    }
    return alert;
  }

  /** Writes a warning, once per distinct message per subject (a log down is not a line per poll). */
  private warn(message: string, subject = message): void {
    if (this.lastWarning.get(subject) === message) return;
    if (this.lastWarning.size > 1000) this.lastWarning.clear();
    this.lastWarning.set(subject, message);
    this.stderr.write(`auditlog witness: ${oneLine(message)}\n`);
  }

  /**
   * Polls one log: fetches its checkpoint, checks it against the stored one (with a consistency
   * proof from the log), cosigns and stores it. Network failures are retried at the next poll;
   * misbehaviour raises an alert.
   */
  async poll(log: WitnessedLog): Promise<void> {
    if (log.url === undefined) return;
    const origin = originOf(log);
    const keys = this.logs.get(origin)?.keys ?? [log.key];
    /** The size stored when the request was sent: add-checkpoint may store a larger one meanwhile. */
    const asked = this.anchor(origin)?.size ?? 0n;
    let note: string;
    try {
      note = await fetchCheckpoint(log.url, log.token);
    } catch (e) {
      this.warn(`poll ${origin}: ${(e as Error).message}`, origin);
      return;
    }
    let cp: Checkpoint;
    try {
      note = logSignedOnly(note, keys);
      cp = parseCheckpoint(parseNote(note).text);
      if (cp.origin !== origin) throw new AuditlogError('BAD_CHECKPOINT', `origin ${cp.origin}`);
      if (!this.fitsGossip(note))
        throw new AuditlogError('TOO_LARGE', 'checkpoint too large to cosign and gossip');
    } catch (e) {
      const ours = this.anchor(origin);
      if (e instanceof AuditlogError && e.code === 'BAD_SIGNATURE') {
        const known = ours?.note !== undefined;
        await this.raise({
          kind: 'bad-signature',
          origin,
          checkpoints: known ? [ours.note!, note] : [note],
          sources: known ? [ours.source, log.url] : [log.url],
          proof: null,
          detail: `the log served a checkpoint whose signature by a key of ${origin} does not verify`,
        });
      } else {
        this.warn(`poll ${origin}: ${(e as Error).message}`, origin);
      }
      return;
    }
    const ours = this.anchor(origin);
    if (ours !== undefined && cp.size < ours.size && cp.size >= asked) {
      // Not a rollback: a larger checkpoint was cosigned while this one was being fetched. It is
      // compared with that one as any other view is.
      await this.checkView(origin, note, log.url);
      return;
    }
    if (ours !== undefined && cp.size < ours.size) {
      const what = ours.source === 'pin' ? 'was pinned' : 'was cosigned';
      await this.raise(
        conflict(
          'rollback',
          origin,
          ours,
          note,
          log.url,
          null,
          `the log served size ${cp.size} after size ${ours.size} ${what}`,
        ),
      );
      return;
    }
    if (ours !== undefined && cp.size === ours.size) {
      if (!equalHashes(cp.root, ours.root)) {
        await this.raise(sameSizeFork(origin, ours, note, log.url));
        return;
      }
      // Nothing new, unless this is the pinned checkpoint itself: cosigned below.
      if (this.views.has(origin)) return;
    }
    const oldSize = ours?.size ?? 0n;
    if (oldSize > 0n && oldSize < cp.size) {
      const verdict = await checkPrefix(httpTileFetcher(log.url, log.token), ours!, cp);
      if (verdict.kind === 'undecided') {
        this.warn(`poll ${origin}: ${verdict.why}`, origin);
        return;
      }
      if (verdict.kind === 'fork') {
        await this.raise(proofAlert(origin, ours!, note, log.url, verdict.proof));
        return;
      }
    }
    await this.withLock(origin, async () => {
      // A forked log is still polled (evidence), never cosigned.
      if (this.forks.has(origin)) return;
      // Compare-and-swap: cosign only on top of the state the proof was checked against.
      if ((this.anchor(origin)?.size ?? 0n) !== oldSize) return;
      await this.store(origin, cp, note, log.url!);
      this.lastWarning.delete(origin);
    });
  }

  /**
   * Compares a signed checkpoint seen elsewhere (a peer's view, a rejected submission) with the
   * stored one: equal roots at equal sizes, otherwise a consistency proof fetched from the log. A
   * proof the log refuses or that fails raises an alert; a log that cannot be reached leaves the
   * question open ('unknown', asked again next time).
   */
  async checkView(origin: string, note: string, source: string): Promise<Comparison> {
    const log = this.logs.get(origin);
    const ours = this.anchor(origin);
    if (log === undefined || ours === undefined) return 'unknown';
    let cp: Checkpoint;
    try {
      const { note: parsed } = verifyNote(note, log.keys);
      cp = parseCheckpoint(parsed.text);
      // The keys of `origin` vouch for checkpoints of `origin` only (a key may sign for another).
      if (cp.origin !== origin) throw new AuditlogError('BAD_CHECKPOINT', `origin ${cp.origin}`);
    } catch (e) {
      this.warn(`checkpoint of ${origin} from ${source} ignored: ${(e as Error).message}`);
      return 'unknown';
    }
    const memo = memoKey(origin, ours.size, parseNote(note).text);
    if (this.checked.has(memo)) return 'consistent';
    const outcome = await this.compare(origin, log, ours, cp, note, source);
    if (outcome !== 'unknown') {
      if (this.checked.size >= MAX_CHECKED_MEMO) this.checked.clear();
      this.checked.add(memo);
    }
    return outcome;
  }

  /**
   * Compares another signed checkpoint `cp` with the stored one (section 4): equal roots at equal
   * sizes; otherwise both are checked against the log's current checkpoint, from its tiles (two
   * prefixes of one tree are consistent with each other).
   */
  private async compare(
    origin: string,
    log: LogEntry,
    ours: Anchor,
    cp: Checkpoint,
    note: string,
    source: string,
  ): Promise<Comparison> {
    if (cp.size === ours.size) {
      if (equalHashes(cp.root, ours.root)) return 'consistent';
      await this.raise(sameSizeFork(origin, ours, note, source));
      return 'alert';
    }
    if (log.url === undefined) return 'unknown';
    const tip = await this.currentCheckpoint(origin, log);
    if (tip === undefined) return 'unknown';
    const fetchTile = httpTileFetcher(log.url, log.token);
    const theirs = await this.againstTip(origin, fetchTile, tip, cp, (proof) =>
      proof === null ? sameSizeFork(origin, tip, note, source) : proofAlert(origin, tip, note, source, proof),
    );
    if (theirs !== 'consistent') return theirs;
    return this.againstTip(origin, fetchTile, tip, ours, (proof) =>
      proof === null
        ? sameSizeFork(origin, ours, tip.note!, tip.source)
        : proofAlert(origin, ours, tip.note!, tip.source, proof),
    );
  }

  /**
   * The log's current checkpoint (verified, of its origin, its own signatures only) as an anchor
   * whose source is the log's URL; undefined (with a warning) when it cannot be had now.
   */
  private async currentCheckpoint(origin: string, log: LogEntry): Promise<Anchor | undefined> {
    try {
      const note = logSignedOnly(await fetchCheckpoint(log.url!, log.token), log.keys);
      const cp = parseCheckpoint(parseNote(note).text);
      if (cp.origin !== origin) throw new AuditlogError('BAD_CHECKPOINT', `origin ${cp.origin}`);
      return { size: cp.size, root: cp.root, note, source: log.url! };
    } catch (e) {
      this.warn(`compare ${origin}: the log's checkpoint: ${(e as Error).message}`, origin);
      return undefined;
    }
  }

  /**
   * Checks `head` against the log's current checkpoint `tip`: consistent when it is a prefix of
   * tip's tree; 'unknown' when it is larger than the tip (the log has not served it yet) or the
   * tiles decide nothing; otherwise raises `alert(proof)` (null proof: same size, other root).
   */
  private async againstTip(
    origin: string,
    fetchTile: TileFetcher,
    tip: Anchor,
    head: TreeHead,
    alert: (proof: AlertProof | null) => NewAlert,
  ): Promise<Comparison> {
    if (head.size === 0n) return 'consistent';
    if (head.size > tip.size) return 'unknown';
    if (head.size === tip.size) {
      if (equalHashes(head.root, tip.root)) return 'consistent';
      await this.raise(alert(null));
      return 'alert';
    }
    const verdict = await checkPrefix(fetchTile, head, tip);
    if (verdict.kind === 'consistent') return 'consistent';
    if (verdict.kind === 'undecided') {
      this.warn(`compare ${origin}: ${verdict.why}`, origin);
      return 'unknown';
    }
    await this.raise(alert(verdict.proof));
    return 'alert';
  }

  /** Closes the database (after in-flight updates finish). */
  async close(): Promise<void> {
    await Promise.all(this.investigating.values());
    await Promise.all(this.locks.values());
    await this.alerts.close();
    await this.db.close();
  }
}

/**
 * An alert about a checkpoint that contradicts the anchor: of `kind` with both signed notes, or
 * `pin-mismatch` with the new note only when the anchor is a pin without a signature.
 */
function conflict(
  kind: 'inconsistent' | 'rollback',
  origin: string,
  ours: Anchor,
  note: string,
  source: string,
  proof: AlertProof | null,
  detail: string,
): NewAlert {
  if (ours.note === undefined) {
    return {
      kind: 'pin-mismatch',
      origin,
      checkpoints: [note],
      sources: [source],
      proof,
      detail: `${detail} (pinned: size ${ours.size}, root ${encodeBase64(ours.root)})`,
    };
  }
  return { kind, origin, checkpoints: [ours.note, note], sources: [ours.source, source], proof, detail };
}

function sameSizeFork(origin: string, ours: Anchor, note: string, source: string): NewAlert {
  const what =
    ours.note === undefined ? 'a pinned and a signed checkpoint' : 'two checkpoints signed by the log';
  return conflict(
    'inconsistent',
    origin,
    ours,
    note,
    source,
    null,
    `${what} of size ${ours.size} with different roots`,
  );
}

function proofAlert(origin: string, ours: Anchor, note: string, source: string, proof: AlertProof): NewAlert {
  return conflict(
    'inconsistent',
    origin,
    ours,
    note,
    source,
    proof,
    `no valid consistency proof from size ${proof.old_size} to ${proof.new_size}: ${proof.error}`,
  );
}

/** Checks a pin against the log's keys (see `PinnedCheckpoint`). */
function checkPin(p: PinnedCheckpoint, keys: VerifierKey[] | undefined): void {
  if (keys === undefined)
    throw new AuditlogError('CONFLICT', `pin for ${p.origin}, which is not a witnessed log`);
  if (p.size === 0n) throw new AuditlogError('BAD_REQUEST', `the pin of ${p.origin} has size 0`);
  if (p.root.length !== 32)
    throw new AuditlogError('BAD_REQUEST', `the pin of ${p.origin} has a root that is not 32 bytes`);
  if (p.note === undefined) return;
  let cp: Checkpoint;
  try {
    cp = parseCheckpoint(verifyNote(p.note, keys).note.text);
  } catch (e) {
    const code = e instanceof AuditlogError ? e.code : 'BAD_CHECKPOINT';
    throw new AuditlogError(code, `pinned checkpoint of ${p.origin}: ${(e as Error).message}`, { cause: e });
  }
  if (cp.origin !== p.origin || cp.size !== p.size || !equalHashes(cp.root, p.root)) {
    throw new AuditlogError('BAD_CHECKPOINT', `pinned checkpoint of ${p.origin} does not match its pin`);
  }
}

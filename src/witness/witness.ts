/**
 * The witness (spec/witness.md): cosigns checkpoints of the logs it is configured with, after
 * checking that each one extends the last one it cosigned; polls those logs; compares its view
 * with what its peers saw; and raises an alert with the evidence when two signed checkpoints of
 * one log cannot both be true.
 *
 * The state per log is the latest cosigned checkpoint. It only moves forward: every update is a
 * compare-and-swap on the size, made under the log's lock and persisted (sync) before anyone is
 * answered or anything is cosigned on top of it.
 */
import { join } from 'node:path';
import { AuditlogError } from '../errors.js';
import { equalHashes } from '../merkle/hasher.js';
import { EMPTY_ROOT } from '../merkle/rfc6962.js';
import { verifyConsistency } from '../merkle/verify.js';
import { type Checkpoint, parseCheckpoint } from '../note/checkpoint.js';
import { cosign } from '../note/cosignature.js';
import { encodeBase64 } from '../note/encoding.js';
import { formatVerifierKey, SIG_TYPE_COSIGNATURE_V1, type VerifierKey } from '../note/keys.js';
import { addSignatures, type NoteSignature, parseNote, verifyNote } from '../note/note.js';
import type { Signer } from '../note/signer.js';
import { type Alert, AlertLog, type AlertProof, type NewAlert } from './alerts.js';
import { commit, openStateDB, type StateDB, tableRange } from './db.js';
import { fetchCheckpoint, fetchConsistencyProof } from './fetch.js';
import { openWitnessKey } from './keyfile.js';
import { formatCosignatureLines, parseAddCheckpoint } from './wire.js';

/**
 * A log this witness cosigns: its key (whose name is the origin) and, to poll it, its URL. Several
 * entries with one origin give that log several trusted keys (a key rotation); at most one URL.
 */
export interface WitnessedLog {
  key: VerifierKey;
  url?: string;
}

/** One origin's trusted keys and URL. */
interface LogEntry {
  keys: VerifierKey[];
  url?: string;
}

export interface WitnessOptions {
  /** Data directory: `witness.key` (0600) and `db/`. */
  dir: string;
  /** The witness's key name (a schema-less URL by convention). */
  name: string;
  logs: WitnessedLog[];
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
  | { status: 400 | 403 | 404 | 409 | 422 | 503; message: string };

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

export class Witness {
  private readonly views = new Map<string, LogView>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly checked = new Set<string>();
  private readonly logs = new Map<string, LogEntry>();
  private readonly lastWarning = new Map<string, string>();
  private readonly investigating = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, number>();

  private constructor(
    readonly signer: Signer,
    private readonly db: StateDB,
    readonly alerts: AlertLog,
    logs: readonly WitnessedLog[],
    private readonly stderr: { write(s: string): unknown },
    private readonly now: () => number,
  ) {
    for (const l of logs) {
      const e = this.logs.get(l.key.name) ?? { keys: [] };
      e.keys.push(l.key);
      if (l.url !== undefined) e.url = l.url;
      this.logs.set(l.key.name, e);
    }
  }

  /**
   * Opens (creating) the witness in `opts.dir`.
   * @throws AuditlogError 'BAD_KEY' (a log key that is not type 0x01), 'CONFLICT' (one key given
   *   twice, two URLs for one origin, or a key file for another name), 'STORAGE' (database locked
   *   or unreadable).
   */
  static async open(opts: WitnessOptions): Promise<Witness> {
    const keys = new Set<string>();
    const urls = new Map<string, string>();
    for (const l of opts.logs) {
      if (l.key.type !== 0x01)
        throw new AuditlogError('BAD_KEY', `log key ${l.key.name} must have type 0x01`);
      const id = `${l.key.name}+${encodeBase64(l.key.publicKey)}`;
      if (keys.has(id)) throw new AuditlogError('CONFLICT', `log key of ${l.key.name} given twice`);
      keys.add(id);
      if (l.url === undefined) continue;
      const other = urls.get(l.key.name);
      if (other !== undefined && other !== l.url) {
        throw new AuditlogError('CONFLICT', `two URLs for origin ${l.key.name}`);
      }
      urls.set(l.key.name, l.url);
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
    return [...this.logs.values()].map((e) =>
      e.url === undefined ? { key: e.keys[0]! } : { key: e.keys[0]!, url: e.url },
    );
  }

  /** The latest cosigned checkpoint of `origin`, if any. */
  view(origin: string): LogView | undefined {
    return this.views.get(origin);
  }

  /** Every log's latest cosigned checkpoint (what `GET /v1/witness/checkpoints` serves). */
  allViews(): { origin: string; checkpoint: string }[] {
    return [...this.views.entries()].map(([origin, v]) => ({ origin, checkpoint: v.cosigned }));
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
    try {
      verifyNote(req.note, log.keys);
    } catch (e) {
      return { status: 403, message: `no valid signature by the log key: ${(e as Error).message}` };
    }
    let cp: Checkpoint;
    try {
      cp = parseCheckpoint(text);
    } catch (e) {
      return { status: 400, message: (e as Error).message };
    }
    if (req.oldSize > cp.size)
      return { status: 400, message: `old size ${req.oldSize} > checkpoint size ${cp.size}` };
    const waiting = this.waiting.get(origin) ?? 0;
    if (waiting >= MAX_WAITING_PER_LOG)
      return { status: 503, message: 'too many requests for this log; retry' };
    this.waiting.set(origin, waiting + 1);
    const result = await this.withLock(
      origin,
      async (): Promise<AddCheckpointResult | { investigate: true }> => {
        const ours = this.views.get(origin);
        const known = ours?.checkpoint.size ?? 0n;
        if (req.oldSize !== known) return { status: 409, size: known };
        if (req.oldSize === cp.size) {
          const root = ours?.checkpoint.root ?? EMPTY_ROOT;
          if (!equalHashes(root, cp.root)) {
            if (ours !== undefined) await this.raise(sameSizeFork(origin, ours, req.note, 'add-checkpoint'));
            return { status: 409, message: `a checkpoint of size ${cp.size} with another root was cosigned` };
          }
        } else {
          try {
            verifyConsistency(req.oldSize, cp.size, req.proof, ours?.checkpoint.root ?? EMPTY_ROOT, cp.root);
          } catch {
            return { investigate: true };
          }
        }
        const sig = await this.store(origin, cp, req.note, 'add-checkpoint');
        return { status: 200, body: formatCosignatureLines([sig]) };
      },
    ).finally(() => this.waiting.set(origin, (this.waiting.get(origin) ?? 1) - 1));
    if ('investigate' in result) {
      // Anyone can send a bad proof with a genuine checkpoint; only the log's own answer is
      // evidence. One question to the log per origin at a time, so requests cannot amplify.
      if (!this.investigating.has(origin)) {
        const run = this.checkView(origin, req.note, 'add-checkpoint')
          .then(() => undefined)
          .catch(() => undefined)
          .finally(() => this.investigating.delete(origin));
        this.investigating.set(origin, run);
      }
      return { status: 422, message: 'the consistency proof does not verify' };
    }
    return result;
  }

  /** Cosigns and persists a checkpoint. Precondition: under the origin's lock, checks done. */
  private async store(origin: string, cp: Checkpoint, note: string, source: string): Promise<NoteSignature> {
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

  private async raise(a: NewAlert): Promise<Alert | undefined> {
    return this.alerts.raise(a);
  }

  /** Writes a warning, once per distinct message per subject (a log down is not a line per poll). */
  private warn(message: string, subject = message): void {
    if (this.lastWarning.get(subject) === message) return;
    if (this.lastWarning.size > 1000) this.lastWarning.clear();
    this.lastWarning.set(subject, message);
    this.stderr.write(`auditlog witness: ${message}\n`);
  }

  /**
   * Polls one log: fetches its checkpoint, checks it against the stored one (with a consistency
   * proof from the log), cosigns and stores it. Network failures are retried at the next poll;
   * misbehaviour raises an alert.
   */
  async poll(log: WitnessedLog): Promise<void> {
    if (log.url === undefined) return;
    const origin = log.key.name;
    const keys = this.logs.get(origin)?.keys ?? [log.key];
    let note: string;
    try {
      note = await fetchCheckpoint(log.url);
    } catch (e) {
      this.warn(`poll ${origin}: ${(e as Error).message}`, origin);
      return;
    }
    let cp: Checkpoint;
    try {
      verifyNote(note, keys);
      cp = parseCheckpoint(parseNote(note).text);
      if (cp.origin !== origin) throw new AuditlogError('BAD_CHECKPOINT', `origin ${cp.origin}`);
    } catch (e) {
      const ours = this.views.get(origin);
      if (e instanceof AuditlogError && e.code === 'BAD_SIGNATURE') {
        await this.raise({
          kind: 'bad-signature',
          origin,
          checkpoints: ours ? [ours.note, note] : [note],
          sources: ours ? [ours.source, log.url] : [log.url],
          proof: null,
          detail: `the log served a checkpoint whose signature by ${origin} does not verify`,
        });
      } else {
        this.warn(`poll ${origin}: ${(e as Error).message}`, origin);
      }
      return;
    }
    const ours = this.views.get(origin);
    if (ours !== undefined && cp.size < ours.checkpoint.size) {
      await this.raise({
        kind: 'rollback',
        origin,
        checkpoints: [ours.note, note],
        sources: [ours.source, log.url],
        proof: null,
        detail: `the log served size ${cp.size} after size ${ours.checkpoint.size} was cosigned`,
      });
      return;
    }
    if (ours !== undefined && cp.size === ours.checkpoint.size) {
      if (!equalHashes(cp.root, ours.checkpoint.root))
        await this.raise(sameSizeFork(origin, ours, note, log.url));
      return;
    }
    const oldSize = ours?.checkpoint.size ?? 0n;
    if (oldSize > 0n) {
      const answer = await fetchConsistencyProof(log.url, oldSize, cp.size);
      if (!answer.ok) {
        if (answer.refused)
          await this.raise(proofAlert(origin, ours!, note, log.url, answer, oldSize, cp.size));
        else this.warn(`poll ${origin}: ${answer.error}`, origin);
        return;
      }
      try {
        verifyConsistency(oldSize, cp.size, answer.proof, ours!.checkpoint.root, cp.root);
      } catch (e) {
        await this.raise(
          proofAlert(
            origin,
            ours!,
            note,
            log.url,
            { ...answer, error: (e as Error).message },
            oldSize,
            cp.size,
          ),
        );
        return;
      }
    }
    await this.withLock(origin, async () => {
      // Compare-and-swap: cosign only on top of the state the proof was checked against.
      if ((this.views.get(origin)?.checkpoint.size ?? 0n) !== oldSize) return;
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
    const ours = this.views.get(origin);
    if (log === undefined || ours === undefined) return 'unknown';
    let cp: Checkpoint;
    try {
      const { note: parsed } = verifyNote(note, log.keys);
      cp = parseCheckpoint(parsed.text);
    } catch (e) {
      this.warn(`checkpoint of ${origin} from ${source} ignored: ${(e as Error).message}`);
      return 'unknown';
    }
    const memo = `${origin}\n${ours.checkpoint.size}\n${parseNote(note).text}`;
    if (this.checked.has(memo)) return 'consistent';
    const outcome = await this.compare(origin, log, ours, cp, note, source);
    if (outcome !== 'unknown') {
      if (this.checked.size >= 10_000) this.checked.clear();
      this.checked.add(memo);
    }
    return outcome;
  }

  private async compare(
    origin: string,
    log: LogEntry,
    ours: LogView,
    cp: Checkpoint,
    note: string,
    source: string,
  ): Promise<Comparison> {
    const a = ours.checkpoint;
    if (cp.size === a.size) {
      if (equalHashes(cp.root, a.root)) return 'consistent';
      await this.raise(sameSizeFork(origin, ours, note, source));
      return 'alert';
    }
    const [small, large] = cp.size < a.size ? [cp, a] : [a, cp];
    if (small.size === 0n) return 'consistent';
    if (log.url === undefined) return 'unknown';
    const answer = await fetchConsistencyProof(log.url, small.size, large.size);
    if (!answer.ok) {
      if (!answer.refused) return 'unknown';
      await this.raise(proofAlert(origin, ours, note, source, answer, small.size, large.size));
      return 'alert';
    }
    try {
      verifyConsistency(small.size, large.size, answer.proof, small.root, large.root);
      return 'consistent';
    } catch (e) {
      await this.raise(
        proofAlert(
          origin,
          ours,
          note,
          source,
          { ...answer, error: (e as Error).message },
          small.size,
          large.size,
        ),
      );
      return 'alert';
    }
  }

  /** Closes the database (after in-flight updates finish). */
  async close(): Promise<void> {
    await Promise.all(this.investigating.values());
    await Promise.all(this.locks.values());
    await this.alerts.close();
    await this.db.close();
  }
}

function sameSizeFork(origin: string, ours: LogView, note: string, source: string): NewAlert {
  return {
    kind: 'inconsistent',
    origin,
    checkpoints: [ours.note, note],
    sources: [ours.source, source],
    proof: null,
    detail: `two checkpoints of size ${ours.checkpoint.size} signed by the log with different roots`,
  };
}

function proofAlert(
  origin: string,
  ours: LogView,
  note: string,
  source: string,
  answer: { hashes: string[]; error: string },
  from: bigint,
  to: bigint,
): NewAlert {
  const proof: AlertProof = {
    old_size: from.toString(),
    new_size: to.toString(),
    hashes: answer.hashes,
    error: answer.error,
  };
  return {
    kind: 'inconsistent',
    origin,
    checkpoints: [ours.note, note],
    sources: [ours.source, source],
    proof,
    detail: `no valid consistency proof from size ${from} to ${to}: ${answer.error}`,
  };
}

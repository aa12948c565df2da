/**
 * The log's side of witnessing (spec/witness.md, "The log side"): pushes every new checkpoint to
 * each witness with add-checkpoint, collects the cosignatures, serves the newest checkpoint with
 * those collected for it, and tells when a checkpoint is witnessed under a C2SP tlog-policy
 * quorum so that receipts can wait for one.
 *
 * Pushes go in rounds: each round takes the newest checkpoint and sends it to every witness in
 * parallel, so that all cosign the same checkpoint (one witness racing ahead of another on a busy
 * log would otherwise never let a quorum form); commits during a round are coalesced into the
 * next. The pusher remembers each witness's size: a 409 carrying `text/x.tlog.size` resets it and
 * the push is resent at once with a proof from that size. A failing witness is retried with
 * backoff and does not hold the others back longer than its request timeout.
 */
import { request } from 'undici';
import { type Policy, quorumSatisfied, witnessQuorum } from '../client/policy.js';
import { AuditlogError, oneLine } from '../errors.js';
import { parseCheckpoint } from '../note/checkpoint.js';
import { bytesEqual } from '../note/encoding.js';
import type { VerifierKey } from '../note/keys.js';
import { addSignatures, type NoteSignature, parseNote } from '../note/note.js';
import { joinUrl, readCapped, TIMEOUT_MS } from './fetch.js';
import { formatAddCheckpoint, parseTlogSize, readCosignature, TLOG_SIZE_TYPE } from './wire.js';

/** What the pusher needs of the log (the sequencer's Log satisfies it). */
export interface PushSource {
  latest(): { size: bigint; note: string };
  onCommit(listener: (state: { size: bigint; note: string }) => void): () => void;
  /** Consistency proof between two committed sizes. Requires 0 <= size1 <= size2 <= latest size. */
  consistencyProof(size1: bigint, size2: bigint): Promise<Uint8Array[]>;
}

export interface PushedWitness {
  /** Submission prefix: add-checkpoint is POSTed to `<url>/add-checkpoint`. */
  url: string;
  /** The witness's cosignature key (type 0x04). */
  key: VerifierKey;
}

export interface PusherOptions {
  log: PushSource;
  witnesses: PushedWitness[];
  /**
   * When a checkpoint counts as witnessed. Witnesses are matched to the policy by key. Default: a
   * cosignature from every witness pushed to.
   */
  policy?: Policy;
  /** Called with each verified cosignature. */
  onCosignature?: (witness: PushedWitness, checkpointBody: string, sig: NoteSignature) => void;
  /** Where warnings go (default process.stderr). */
  stderr?: { write(s: string): unknown };
  /** First retry delay after a failed push in ms (default 500), doubled up to 30 s. */
  retryMs?: number;
}

/** How a witness is doing, for status pages and tests. */
export interface WitnessStatus {
  url: string;
  name: string;
  /** The witness's size as last learnt (undefined before the first answer). */
  size: bigint | undefined;
  lastError: string | undefined;
}

interface Worker {
  w: PushedWitness;
  /** The witness's size as last learnt. */
  size: bigint | undefined;
  /** The note it last cosigned. */
  done: string | undefined;
  lastError: string | undefined;
  /** Backoff: no push before this time (ms), and the next delay. */
  nextTry: number;
  delay: number;
}

const MAX_CONFLICT_RETRIES = 3;

/**
 * Most receipts waiting for a witnessed checkpoint at once (each holds a timer and its request
 * for up to the wait, ~1 KB): beyond it `?witnessed=1` answers 503.
 */
export const MAX_WITNESS_WAITERS = 16_384;

/** Largest add-checkpoint answer read from a witness (cosignature lines). */
const MAX_WITNESS_ANSWER = 64 * 1024;

export class WitnessPusher {
  private readonly workers: Worker[];
  private readonly policy: Policy;
  /** Witness policy name by witness index (undefined when the policy does not list it). */
  private readonly policyNames: (string | undefined)[];
  /** Cosignatures collected for `body`, by witness index. */
  private cosigs: { body: string; sigs: Map<number, NoteSignature> } = { body: '', sigs: new Map() };
  private witnessedNote: { size: bigint; note: string } | undefined;
  /** The last answer of checkpointNote(), reused while nothing changed. */
  private served: { note: string; body: string; sigs: number; out: string } | undefined;
  private readonly waiters = new Set<{ size: bigint; resolve: () => void; reject: (e: Error) => void }>();
  private readonly unsubscribe: () => void;
  private closed = false;
  private running: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  private dirty = false;
  private readonly abort = new AbortController();

  constructor(private readonly opts: PusherOptions) {
    this.workers = opts.witnesses.map((w) => ({
      w,
      size: undefined,
      done: undefined,
      lastError: undefined,
      nextTry: 0,
      delay: opts.retryMs ?? 500,
    }));
    this.policy =
      opts.policy ??
      witnessQuorum(
        opts.witnesses.length,
        opts.witnesses.map((w) => w.key),
      );
    this.policyNames = opts.witnesses.map((w) => {
      for (const [name, pw] of this.policy.witnesses) {
        if (pw.key.name === w.key.name && bytesEqual(pw.key.keyId, w.key.keyId)) return name;
      }
      return undefined;
    });
    if (quorumSatisfied(this.policy, new Set())) this.witnessedNote = opts.log.latest();
    this.unsubscribe = opts.log.onCommit(() => {
      this.dirty = true;
      this.wake?.();
    });
    this.running = this.loop();
  }

  /** The newest checkpoint with the cosignatures collected for it (what `/checkpoint` serves). */
  checkpointNote(): string {
    const latest = this.opts.log.latest();
    const cached = this.served;
    if (
      cached?.note === latest.note &&
      cached.sigs === this.cosigs.sigs.size &&
      cached.body === this.cosigs.body
    ) {
      return cached.out;
    }
    const text = parseNote(latest.note).text;
    const out =
      this.cosigs.body !== text || this.cosigs.sigs.size === 0
        ? latest.note
        : addSignatures(latest.note, [...this.cosigs.sigs.values()]);
    this.served = { note: latest.note, body: this.cosigs.body, sigs: this.cosigs.sigs.size, out };
    return out;
  }

  /** The newest checkpoint that satisfied the policy, with its cosignatures. */
  witnessed(): { size: bigint; note: string } | undefined {
    return this.witnessedNote;
  }

  /**
   * Resolves with the first witnessed checkpoint note of at least `size`.
   * @throws AuditlogError('QUORUM_NOT_MET') after `timeoutMs`, 'CLOSED' when the pusher stops,
   *   'OVERLOADED' when MAX_WITNESS_WAITERS requests are already waiting.
   */
  waitWitnessed(size: bigint, timeoutMs: number): Promise<{ size: bigint; note: string }> {
    const now = this.witnessedNote;
    if (now !== undefined && now.size >= size) return Promise.resolve(now);
    if (this.closed) return Promise.reject(new AuditlogError('CLOSED', 'the log is shutting down'));
    if (this.waiters.size >= MAX_WITNESS_WAITERS) {
      return Promise.reject(
        new AuditlogError('OVERLOADED', `${this.waiters.size} receipts are waiting for witnesses`),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        size,
        resolve: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(this.witnessedNote!);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new AuditlogError(
            'QUORUM_NOT_MET',
            `no witnessed checkpoint of size ${size} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Each witness's known size and last error. */
  status(): WitnessStatus[] {
    return this.workers.map((k) => ({
      url: k.w.url,
      name: k.w.key.name,
      size: k.size,
      lastError: k.lastError,
    }));
  }

  private record(index: number, note: string, size: bigint, sig: NoteSignature): void {
    const text = parseNote(note).text;
    if (this.cosigs.body !== text) {
      // Only cosignatures of the newest checkpoint are kept; an older one's are dropped.
      if (parseCheckpoint(text).size < parseCheckpoint(this.cosigs.body || text).size) return;
      this.cosigs = { body: text, sigs: new Map() };
    }
    this.cosigs.sigs.set(index, sig);
    this.opts.onCosignature?.(this.workers[index]!.w, text, sig);
    const names = new Set<string>();
    for (const i of this.cosigs.sigs.keys()) {
      const n = this.policyNames[i];
      if (n !== undefined) names.add(n);
    }
    if (!quorumSatisfied(this.policy, names)) return;
    if (this.witnessedNote !== undefined && this.witnessedNote.size > size) return;
    this.witnessedNote = { size, note: addSignatures(note, [...this.cosigs.sigs.values()]) };
    for (const waiter of [...this.waiters]) if (waiter.size <= size) waiter.resolve();
  }

  private async loop(): Promise<void> {
    const base = this.opts.retryMs ?? 500;
    while (!this.closed) {
      this.dirty = false;
      const latest = this.opts.log.latest();
      const due = this.workers.filter((k) => k.done !== latest.note && k.nextTry <= Date.now());
      await Promise.all(
        due.map(async (k) => {
          try {
            const sig = await this.push(k, latest);
            k.done = latest.note;
            k.lastError = undefined;
            k.delay = base;
            this.record(this.workers.indexOf(k), latest.note, latest.size, sig);
          } catch (e) {
            if (this.closed) return;
            const msg = (e as Error).message;
            if (k.lastError !== msg)
              (this.opts.stderr ?? process.stderr).write(`auditlog: witness ${k.w.url}: ${oneLine(msg)}\n`);
            k.lastError = msg;
            k.nextTry = Date.now() + k.delay;
            k.delay = Math.min(k.delay * 2, 30_000);
          }
        }),
      );
      // Wait for a commit, or for the first witness still owed this checkpoint to be due again.
      const owed = this.workers.filter((k) => k.done !== latest.note).map((k) => k.nextTry - Date.now());
      await this.sleep(owed.length === 0 ? 60_000 : Math.max(0, Math.min(...owed)));
    }
  }

  /** One add-checkpoint exchange, resent after a 409 that tells the witness's size. */
  private async push(k: Worker, latest: { size: bigint; note: string }): Promise<NoteSignature> {
    for (let attempt = 0; ; attempt++) {
      const old = k.size !== undefined && k.size <= latest.size ? k.size : 0n;
      if (k.size !== undefined && k.size > latest.size) {
        throw new AuditlogError('ROLLBACK', `witness has size ${k.size}, beyond the log's ${latest.size}`);
      }
      const proof =
        old === 0n || old === latest.size ? [] : await this.opts.log.consistencyProof(old, latest.size);
      const body = formatAddCheckpoint({ oldSize: old, proof, note: latest.note });
      // One deadline for the whole exchange (the idle timeouts alone let a witness that sends a
      // byte every few seconds hold the round for hours).
      const deadline = new AbortController();
      const stop = () => deadline.abort();
      const timer = setTimeout(stop, TIMEOUT_MS);
      this.abort.signal.addEventListener('abort', stop);
      if (this.abort.signal.aborted) stop(); // closed before the listener was added
      let text: string;
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(joinUrl(k.w.url, 'add-checkpoint'), {
          method: 'POST',
          body,
          headersTimeout: TIMEOUT_MS,
          bodyTimeout: TIMEOUT_MS,
          signal: deadline.signal,
        });
        text = new TextDecoder().decode(
          await readCapped(res.body, MAX_WITNESS_ANSWER, 'add-checkpoint answer'),
        );
      } finally {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', stop);
      }
      if (res.statusCode === 200) {
        k.size = latest.size;
        return readCosignature(latest.note, text, k.w.key);
      }
      const type = String(res.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim();
      if (res.statusCode === 409 && type === TLOG_SIZE_TYPE && attempt < MAX_CONFLICT_RETRIES) {
        k.size = parseTlogSize(text);
        continue;
      }
      throw new AuditlogError(
        'UNAVAILABLE',
        `add-checkpoint answered ${res.statusCode}: ${oneLine(text.trim().slice(0, 200))}`,
      );
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed || this.dirty) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
    });
  }

  /** Stops pushing; pending waiters are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    this.abort.abort();
    this.wake?.();
    for (const waiter of [...this.waiters])
      waiter.reject(new AuditlogError('CLOSED', 'the log is shutting down'));
    await this.running;
  }
}

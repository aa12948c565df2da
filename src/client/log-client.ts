/**
 * LogClient: talks to one auditlog (or any tlog-tiles log) over HTTP with undici: a keep-alive
 * connection pool, timeouts, bounded response bodies, and retries that honour Retry-After on 503.
 * POSTs are retried only when the server cannot have accepted them (503, or a refused connection),
 * so an entry is never submitted twice by the client. Node-only (undici).
 *
 * When a verifier key is configured, every checkpoint and receipt is verified before it is
 * returned, and proofs computed from tiles are checked against a signed checkpoint.
 */
import { createRequire } from 'node:module';
import type { Pool } from 'undici';
import { decodedBody } from './content-encoding.js';
import { AuditlogError, type ErrorCode } from '../errors.js';
import { equalHashes } from '../merkle/hasher.js';
import { portableHasher } from '../merkle/portable.js';
import { consistencyProof, inclusionProof } from '../merkle/proof.js';
import { decodeEntryBundle, formatTilePath, TILE_WIDTH } from '../merkle/tiles.js';
import { parseCheckpoint } from '../note/checkpoint.js';
import { decodeBase64, encodeBase64, fromUtf8, utf8 } from '../note/encoding.js';
import { parseVerifierKey, type VerifierKey } from '../note/keys.js';
import { parseNote } from '../note/note.js';
import type { Policy } from './policy.js';
import { parseReceipt, type Receipt } from './receipt.js';
import { rootFromTiles, type TileFetcher, tileOracle } from './tile-proofs.js';
import {
  upgradeReceipt,
  type VerifiedCheckpoint,
  verifyCheckpoint,
  verifyConsistencyBetween,
  verifyReceipt,
} from './verify.js';

export interface LogClientOptions {
  /**
   * Bearer token. Submissions need one (submitter role); when set it is sent with every request,
   * reads included, so that a log run with --private-reads (any role's token) can be read and
   * audited. Never logged.
   */
  token?: string;
  /** The log's verifier key; when set, checkpoints, receipts and proofs are verified on arrival. */
  vkey?: string | VerifierKey;
  /** Witness policy applied to fetched checkpoints (requires vkey or log lines in the policy). */
  policy?: Policy;
  /** Pooled keep-alive connections. Default 8. */
  connections?: number;
  /** Headers and body timeout per request, ms. Default 30 000. */
  timeoutMs?: number;
  /** Retries after a 503 or a connection failure. Default 5. */
  maxRetries?: number;
  /** Cap on one wait (Retry-After or backoff), ms. Default 10 000. */
  maxRetryDelayMs?: number;
  /** Largest response body read, bytes. Default 32 MiB. */
  maxResponseBytes?: number;
  /** Tiles kept in memory (LRU). Default 256. */
  tileCacheSize?: number;
}

/** The answer of GET /v1/log. */
export interface LogInfo {
  origin: string;
  vkey: string;
  tree_size: number;
}

interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  503: 'OVERLOADED',
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Parses Retry-After (delta-seconds or an HTTP date) into ms, or null. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined) return null;
  if (/^[0-9]{1,9}$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}

function parseJSONBody(body: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(fromUtf8(body));
  } catch (cause) {
    throw new AuditlogError('BAD_REQUEST', `${what}: response is not JSON`, { cause });
  }
}

/**
 * undici, loaded when the first LogClient is made rather than when this module is imported:
 * offline verification (`auditlog verify` without --log, or the SDK's index) imports this module
 * but never opens a connection, and loading undici costs about as much as the rest of such a run.
 */
let poolClass: typeof Pool | undefined;
function loadPool(): typeof Pool {
  poolClass ??= (createRequire(import.meta.url)('undici') as typeof import('undici')).Pool;
  return poolClass;
}

export class LogClient {
  readonly url: URL;
  readonly logKey: VerifierKey | undefined;
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly opts: Required<Omit<LogClientOptions, 'token' | 'vkey' | 'policy'>>;
  private readonly token: string | undefined;
  private readonly policy: Policy | undefined;
  private readonly tiles = new Map<string, Uint8Array>();

  /** @param url the log's base URL, e.g. `http://127.0.0.1:8080` (a path prefix is kept). */
  constructor(url: string | URL, options: LogClientOptions = {}) {
    this.url = new URL(url);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') {
      throw new AuditlogError('BAD_REQUEST', `log URL must be http or https: ${this.url.href}`);
    }
    this.prefix = this.url.pathname.replace(/\/+$/, '');
    this.opts = {
      connections: options.connections ?? 8,
      timeoutMs: options.timeoutMs ?? 30_000,
      maxRetries: options.maxRetries ?? 5,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 10_000,
      maxResponseBytes: options.maxResponseBytes ?? 32 * 1024 * 1024,
      tileCacheSize: options.tileCacheSize ?? 256,
    };
    this.token = options.token;
    this.policy = options.policy;
    this.logKey = typeof options.vkey === 'string' ? parseVerifierKey(options.vkey) : options.vkey;
    this.pool = new (loadPool())(this.url.origin, {
      connections: this.opts.connections,
      keepAliveTimeout: 30_000,
      headersTimeout: this.opts.timeoutMs,
      bodyTimeout: this.opts.timeoutMs,
      connectTimeout: Math.min(this.opts.timeoutMs, 10_000),
    });
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  private async readBody(
    body: AsyncIterable<Uint8Array> & { destroy(err?: Error): unknown },
  ): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of body) {
      total += chunk.length;
      if (total > this.opts.maxResponseBytes) {
        body.destroy();
        throw new AuditlogError('TOO_LARGE', `response larger than ${this.opts.maxResponseBytes} bytes`);
      }
      chunks.push(chunk);
    }
    const out = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  /**
   * One request with retries. `idempotent` requests are retried on any connection failure; others
   * only when the connection was refused (the server never saw them) or on 503.
   */
  private async request(
    method: 'GET' | 'POST',
    path: string,
    init: { body?: Uint8Array; contentType?: string; auth?: boolean; accept?: string } = {},
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = { accept: init.accept ?? '*/*' };
    if (init.contentType) headers['content-type'] = init.contentType;
    if (init.auth && !this.token) {
      throw new AuditlogError('UNAUTHORIZED', 'no token configured for submissions');
    }
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const idempotent = method === 'GET';
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.opts.maxRetries;
      let res: Awaited<ReturnType<Pool['request']>>;
      try {
        res = await this.pool.request({
          method,
          path: this.prefix + path,
          headers,
          body:
            init.body === undefined
              ? null
              : Buffer.from(init.body.buffer, init.body.byteOffset, init.body.length),
        });
      } catch (err) {
        const code = (err as { code?: string }).code;
        const retryable = idempotent || code === 'ECONNREFUSED';
        if (!retryable || last) {
          throw new AuditlogError('UNAVAILABLE', `${method} ${path}: ${(err as Error).message}`, {
            cause: err,
          });
        }
        await sleep(Math.min(this.opts.maxRetryDelayMs, 100 * 2 ** attempt));
        continue;
      }
      if (res.statusCode === 503 && !last) {
        await res.body.dump();
        const header = res.headers['retry-after'];
        const wait = parseRetryAfter(Array.isArray(header) ? header[0] : header) ?? 100 * 2 ** attempt;
        await sleep(Math.min(this.opts.maxRetryDelayMs, wait));
        continue;
      }
      let body: Uint8Array;
      try {
        body = await this.readBody(decodedBody(res, `${method} ${path}`));
      } catch (err) {
        if (err instanceof AuditlogError) throw err;
        throw new AuditlogError('UNAVAILABLE', `${method} ${path}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (res.statusCode >= 200 && res.statusCode < 300)
        return { status: res.statusCode, headers: res.headers, body };
      throw this.problem(method, path, res.statusCode, body);
    }
  }

  private problem(method: string, path: string, status: number, body: Uint8Array): AuditlogError {
    let detail = '';
    let code: ErrorCode = STATUS_CODES[status] ?? 'INTERNAL';
    try {
      const p = JSON.parse(new TextDecoder().decode(body)) as {
        code?: unknown;
        detail?: unknown;
        title?: unknown;
      };
      if (typeof p.code === 'string' && /^[A-Z_]+$/.test(p.code)) code = p.code as ErrorCode;
      detail = typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : '';
    } catch {
      detail = new TextDecoder().decode(body.subarray(0, 200));
    }
    return new AuditlogError(code, `${method} ${path}: HTTP ${status}${detail ? `: ${detail}` : ''}`);
  }

  private async getJSON(path: string): Promise<unknown> {
    return parseJSONBody(
      (await this.request('GET', path, { accept: 'application/json' })).body,
      `GET ${path}`,
    );
  }

  // ---- log state -----------------------------------------------------------------------------

  /** GET /v1/log. */
  async info(): Promise<LogInfo> {
    const j = (await this.getJSON('/v1/log')) as LogInfo;
    if (typeof j?.origin !== 'string' || typeof j.vkey !== 'string' || typeof j.tree_size !== 'number') {
      throw new AuditlogError('BAD_REQUEST', 'GET /v1/log: unexpected answer');
    }
    return j;
  }

  /** The raw checkpoint note (GET /checkpoint), unverified. */
  async checkpointNote(): Promise<string> {
    const res = await this.request('GET', '/checkpoint');
    return fromUtf8(res.body, 'BAD_NOTE');
  }

  /**
   * The current checkpoint, verified with the configured key (and policy).
   * @throws AuditlogError('UNKNOWN_KEY') when no vkey is configured and the policy lists no log.
   */
  async checkpoint(): Promise<VerifiedCheckpoint> {
    return verifyCheckpoint(await this.checkpointNote(), this.logKey ?? null, this.policyOpts());
  }

  private policyOpts() {
    return this.policy ? { policy: this.policy } : {};
  }

  // ---- submission ----------------------------------------------------------------------------

  private checkReceipt(r: Receipt): Receipt {
    if (this.logKey !== undefined || this.policy?.logs.length)
      verifyReceipt(r, this.logKey ?? null, this.policyOpts());
    return r;
  }

  /** Submits one entry (POST /v1/entries); returns its receipt, which keeps the entry. */
  async submitEntry(entry: Uint8Array): Promise<Receipt> {
    const res = await this.request('POST', '/v1/entries', {
      body: entry,
      contentType: 'application/octet-stream',
      auth: true,
      accept: 'application/json',
    });
    const r = parseReceipt(parseJSONBody(res.body, 'POST /v1/entries'), { allowUnknown: true });
    r.entry = entry.slice();
    if (!equalHashes(portableHasher.hashLeaf(entry), r.leafHash)) {
      throw new AuditlogError('LEAF_MISMATCH', 'the log answered with the leaf hash of another entry');
    }
    return this.checkReceipt(r);
  }

  /** Submits one audit record (POST /v1/records); returns its receipt (with record id and entry). */
  async submitRecord(record: object): Promise<Receipt> {
    const rs = await this.postRecords(record);
    if (rs.length !== 1) throw new AuditlogError('BAD_REQUEST', `expected 1 receipt, got ${rs.length}`);
    return rs[0]!;
  }

  /** Submits many records in one request (`{"records": [...]}`); receipts in the same order. */
  async submitRecords(records: readonly object[]): Promise<Receipt[]> {
    const rs = await this.postRecords({ records });
    if (rs.length !== records.length) {
      throw new AuditlogError('BAD_REQUEST', `expected ${records.length} receipts, got ${rs.length}`);
    }
    return rs;
  }

  private async postRecords(body: object): Promise<Receipt[]> {
    const res = await this.request('POST', '/v1/records', {
      body: utf8(JSON.stringify(body)),
      contentType: 'application/json',
      auth: true,
      accept: 'application/json',
    });
    const j = parseJSONBody(res.body, 'POST /v1/records') as { records?: unknown };
    const list = Array.isArray(j.records) ? j.records : [j];
    return list.map((x) => this.checkReceipt(parseReceipt(x, { allowUnknown: true })));
  }

  // ---- tiles and entries ---------------------------------------------------------------------

  private remember(path: string, bytes: Uint8Array): void {
    this.tiles.set(path, bytes);
    if (this.tiles.size > this.opts.tileCacheSize) this.tiles.delete(this.tiles.keys().next().value!);
  }

  /**
   * The bytes of tile (level, index) of `width` hashes (or entry bundle, for level 'entries').
   * A partial tile that is gone (the tile has since filled up) is cut from the full tile.
   */
  async tile(level: number | 'entries', index: bigint, width = TILE_WIDTH): Promise<Uint8Array> {
    const path = `/${formatTilePath(level, index, width)}`;
    const cached = this.tiles.get(path);
    if (cached !== undefined) {
      this.tiles.delete(path);
      this.tiles.set(path, cached);
      return cached;
    }
    let bytes: Uint8Array;
    try {
      bytes = (await this.request('GET', path)).body;
    } catch (err) {
      if (width === TILE_WIDTH || (err as AuditlogError).code !== 'NOT_FOUND') throw err;
      const full = await this.tile(level, index, TILE_WIDTH);
      if (level === 'entries') {
        bytes = full; // callers take the first `width` entries
      } else {
        bytes = full.subarray(0, width * 32);
      }
    }
    this.remember(path, bytes);
    return bytes;
  }

  /** A TileFetcher over this client (for tile-proofs.ts). */
  readonly fetchTile: TileFetcher = (level, index, width) => this.tile(level, index, width);

  /**
   * Streams entries [start, end) of the tree of `size` (default: the current checkpoint's size)
   * from entry bundles, checking each entry against the level-0 hash tile.
   */
  async *entries(
    start: bigint,
    end: bigint,
    size?: bigint,
  ): AsyncGenerator<{ index: bigint; entry: Uint8Array }> {
    const treeSize = size ?? (await this.currentSize());
    if (start < 0n || end < start || end > treeSize) {
      throw new AuditlogError('OUT_OF_RANGE', `range [${start}, ${end}) is not within tree size ${treeSize}`);
    }
    const W = BigInt(TILE_WIDTH);
    for (let n = start / W; n * W < end; n++) {
      const width = Number(treeSize - n * W >= W ? W : treeSize - n * W);
      const [bundle, hashes] = await Promise.all([this.tile('entries', n, width), this.tile(0, n, width)]);
      const list = decodeEntryBundle(bundle).slice(0, width);
      if (list.length !== width)
        throw new AuditlogError('BAD_PROOF', `entry bundle ${n} has ${list.length} entries, want ${width}`);
      for (let i = 0; i < width; i++) {
        const index = n * W + BigInt(i);
        if (index < start || index >= end) continue;
        const entry = list[i]!;
        if (!equalHashes(portableHasher.hashLeaf(entry), hashes.subarray(i * 32, i * 32 + 32))) {
          throw new AuditlogError('LEAF_MISMATCH', `entry ${index} does not match its leaf hash tile`);
        }
        yield { index, entry };
      }
    }
  }

  private async currentSize(): Promise<bigint> {
    if (this.logKey !== undefined || this.policy?.logs.length)
      return (await this.checkpoint()).checkpoint.size;
    return parseCheckpoint(parseNote(await this.checkpointNote()).text).size;
  }

  // ---- proofs (computed from tiles) ----------------------------------------------------------

  /** The leaf hash at `index` (from the level-0 tile of the tree of `size`). */
  async leafHash(index: bigint, size: bigint): Promise<Uint8Array> {
    return tileOracle(this.fetchTile, size)(index, index + 1n);
  }

  /** Inclusion proof of `index` in the tree of `size`, computed from tiles. */
  async inclusionProof(index: bigint, size: bigint): Promise<Uint8Array[]> {
    if (index >= size) throw new AuditlogError('OUT_OF_RANGE', `index ${index} is not below size ${size}`);
    return inclusionProof(index, size, tileOracle(this.fetchTile, size));
  }

  /** Consistency proof from `size1` to `size2`, computed from the tiles of the tree of `size2`. */
  async consistencyProof(size1: bigint, size2: bigint): Promise<Uint8Array[]> {
    if (size1 > size2) throw new AuditlogError('OUT_OF_RANGE', `size ${size1} > ${size2}`);
    return consistencyProof(size1, size2, tileOracle(this.fetchTile, size2));
  }

  /** The root of the tree of size `n`, recomputed from the tiles of the tree of `size` >= n. */
  async rootAt(n: bigint, size: bigint): Promise<Uint8Array> {
    return rootFromTiles(this.fetchTile, size, n);
  }

  /**
   * A receipt for the entry at `index`, proved against the current (verified) checkpoint.
   * @throws AuditlogError('UNKNOWN_KEY') without a configured vkey.
   */
  async prove(index: bigint): Promise<Receipt> {
    const cp = await this.checkpoint();
    const size = cp.checkpoint.size;
    if (index >= size)
      throw new AuditlogError('OUT_OF_RANGE', `index ${index} is not below tree size ${size}`);
    const [leafHash, proof] = await Promise.all([
      this.leafHash(index, size),
      this.inclusionProof(index, size),
    ]);
    const r: Receipt = {
      origin: cp.checkpoint.origin,
      index,
      treeSize: size,
      leafHash,
      inclusionProof: proof,
      checkpoint: cp.noteText,
    };
    return this.checkReceipt(r);
  }

  /**
   * Upgrades a receipt to the log's current checkpoint: fetches it (verified, with the policy),
   * computes the consistency proof from tiles and attaches both (see upgradeReceipt). When the
   * receipt was already upgraded, the current checkpoint must also extend that later checkpoint
   * (else ROLLBACK or INCONSISTENT: the log is showing this client a different history).
   */
  async upgrade(receipt: Receipt): Promise<Receipt> {
    const cp = await this.checkpoint();
    const key = this.logKey ?? cp.logKey;
    if (receipt.upgrade !== undefined) {
      const seen = verifyCheckpoint(receipt.upgrade.checkpoint, key);
      const proof =
        seen.checkpoint.size <= cp.checkpoint.size
          ? await this.consistencyProof(seen.checkpoint.size, cp.checkpoint.size)
          : [];
      verifyConsistencyBetween(receipt.upgrade.checkpoint, cp.noteText, proof, key, this.policyOpts());
    }
    if (cp.checkpoint.size < receipt.treeSize) {
      throw new AuditlogError(
        'ROLLBACK',
        `the log's checkpoint (size ${cp.checkpoint.size}) is older than the receipt's (${receipt.treeSize})`,
      );
    }
    const proof = await this.consistencyProof(receipt.treeSize, cp.checkpoint.size);
    return upgradeReceipt(receipt, cp.noteText, proof, key, this.policyOpts());
  }

  // ---- RFC 6962 compatibility API ------------------------------------------------------------

  /** GET /ct/v1/get-proof-by-hash: the index and audit path of a leaf hash in the tree of `size`. */
  async proofByHash(leafHash: Uint8Array, size: bigint): Promise<{ index: bigint; proof: Uint8Array[] }> {
    const q = new URLSearchParams({ hash: encodeBase64(leafHash), tree_size: size.toString() });
    const j = (await this.getJSON(`/ct/v1/get-proof-by-hash?${q}`)) as {
      leaf_index?: unknown;
      audit_path?: unknown;
    };
    if (
      typeof j.leaf_index !== 'number' ||
      !Number.isSafeInteger(j.leaf_index) ||
      !Array.isArray(j.audit_path)
    ) {
      throw new AuditlogError('BAD_REQUEST', 'get-proof-by-hash: unexpected answer');
    }
    return {
      index: BigInt(j.leaf_index),
      proof: j.audit_path.map((h) => decodeBase64(String(h), 'BAD_PROOF', 'audit_path')),
    };
  }

  /** GET /ct/v1/get-sth-consistency. */
  async ctConsistency(first: bigint, second: bigint): Promise<Uint8Array[]> {
    const j = (await this.getJSON(`/ct/v1/get-sth-consistency?first=${first}&second=${second}`)) as {
      consistency?: unknown;
    };
    if (!Array.isArray(j.consistency))
      throw new AuditlogError('BAD_REQUEST', 'get-sth-consistency: unexpected answer');
    return j.consistency.map((h) => decodeBase64(String(h), 'BAD_PROOF', 'consistency'));
  }
}

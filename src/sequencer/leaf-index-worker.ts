/**
 * The leaf-hash index's own thread and its own LevelDB (`<data>/leaf-index/`): random-key
 * inserts cost more CPU than everything else an append does, so they run on the second core,
 * off the sequencer's thread. Messages are described in leaf-index.ts; the key layout in
 * spec/storage.md.
 *
 * One key per leaf, `0x01 ‖ leaf hash[0:8] ‖ index (u64 BE)`, with an empty value: half the
 * bytes of a full-hash key with the index as value, so LevelDB has less to write and compact,
 * and a hash appended more than once keeps every index. A lookup returns, latest first, up to
 * LOOKUP_CANDIDATES indices below the tree size asked about whose keys carry the hash's 8-byte
 * prefix; the caller confirms each against the level-0 tiles.
 */
import { mkdirSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Level } from 'level';

const KEY_INDEXED = new Uint8Array([0x00]);
const PREFIX = 0x01;
const KEY_FORMAT = new Uint8Array([0x02]);
/** Key layout version; an index written with another layout is cleared and rebuilt from tiles. */
const FORMAT = new Uint8Array([2]);
const PREFIX_BYTES = 8;
const KEY_BYTES = 1 + PREFIX_BYTES + 8;
const EMPTY = new Uint8Array(0);
/**
 * Most keys a lookup reads. Keys sharing an 8-byte prefix belong to one leaf hash unless two
 * hashes collide in 64 bits, so the first candidate nearly always verifies; the rest are slack.
 */
const LOOKUP_CANDIDATES = 16;

const port = parentPort!;
const location = (workerData as { location: string }).location;
mkdirSync(location, { recursive: true, mode: 0o700 });
const db = new Level<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });

/** Writes `v` (a safe integer) as u64 big-endian at `off`. */
function writeU64(b: Uint8Array, off: number, v: number): void {
  const hi = Math.floor(v / 2 ** 32);
  const lo = v >>> 0;
  b[off] = hi >>> 24;
  b[off + 1] = (hi >>> 16) & 0xff;
  b[off + 2] = (hi >>> 8) & 0xff;
  b[off + 3] = hi & 0xff;
  b[off + 4] = lo >>> 24;
  b[off + 5] = (lo >>> 16) & 0xff;
  b[off + 6] = (lo >>> 8) & 0xff;
  b[off + 7] = lo & 0xff;
}

function readU64(b: Uint8Array, off = 0): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off);
}

function u64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  return b;
}

/** How far the index reaches: the next add must start here, or the marker would lie. */
let next = 0n;

/** Opens the database; an index in another key layout (or none) is cleared, to be rebuilt. */
async function open(): Promise<void> {
  await db.open();
  const format = await db.get(KEY_FORMAT);
  if (format?.length === 1 && format[0] === FORMAT[0]) {
    const v = await db.get(KEY_INDEXED);
    next = v ? readU64(v) : 0n;
    return;
  }
  await clearIndex();
}

/** Empties the index (to be rebuilt from the tiles from index 0), keeping the layout version. */
async function clearIndex(): Promise<void> {
  await db.clear();
  await db.put(KEY_FORMAT, FORMAT, { sync: true });
  next = 0n;
}

type Msg =
  | { op: 'indexed'; id: number }
  | { op: 'reset'; id: number }
  | { op: 'add'; start: bigint; hashes: Uint8Array }
  | { op: 'lookup'; id: number; hash: Uint8Array; below: bigint }
  | { op: 'close'; id: number };

// One message at a time, in order: adds must land in sequence for the marker to be right.
let chain: Promise<void> = open();
port.on('message', (msg: Msg) => {
  chain = chain
    .then(() => handle(msg))
    .catch((err) => {
      port.postMessage({ op: 'error', message: (err as Error).message });
    });
});

async function handle(msg: Msg): Promise<void> {
  switch (msg.op) {
    case 'indexed': {
      port.postMessage({ op: 'reply', id: msg.id, value: next });
      return;
    }
    case 'add': {
      // A chained batch (abstract-level's array form costs ~20 µs of JavaScript per operation),
      // keys cut from one buffer, indices in number arithmetic (exact below 2^53 entries).
      const n = msg.hashes.length / 32;
      if (msg.start !== next) {
        // Never write past a gap: the marker would claim hashes that are not indexed.
        port.postMessage({ op: 'error', message: `add at ${msg.start}, index reaches ${next}: skipped` });
        port.postMessage({ op: 'done', value: n });
        return;
      }
      const start = Number(msg.start);
      const keys = new Uint8Array(n * KEY_BYTES);
      const batch = db.batch();
      for (let i = 0; i < n; i++) {
        const off = i * KEY_BYTES;
        keys[off] = PREFIX;
        keys.set(msg.hashes.subarray(i * 32, i * 32 + PREFIX_BYTES), off + 1);
        writeU64(keys, off + 1 + PREFIX_BYTES, start + i);
        batch.put(keys.subarray(off, off + KEY_BYTES), EMPTY);
      }
      batch.put(KEY_INDEXED, u64(msg.start + BigInt(n)));
      await batch.write();
      next = msg.start + BigInt(n);
      port.postMessage({ op: 'done', value: n });
      return;
    }
    case 'reset': {
      await clearIndex();
      port.postMessage({ op: 'reply', id: msg.id, value: undefined });
      return;
    }
    case 'lookup': {
      // Latest first, below the tree size asked about, and at most LOOKUP_CANDIDATES keys: an
      // entry appended a million times must not make every lookup of it scan a million keys.
      const gte = new Uint8Array(KEY_BYTES);
      gte[0] = PREFIX;
      gte.set(msg.hash.subarray(0, PREFIX_BYTES), 1);
      const lt = gte.slice();
      lt.set(u64(msg.below), 1 + PREFIX_BYTES);
      const found: bigint[] = [];
      for await (const k of db.keys({ gte, lt, reverse: true, limit: LOOKUP_CANDIDATES }))
        found.push(readU64(k, 1 + PREFIX_BYTES));
      port.postMessage({ op: 'reply', id: msg.id, value: found });
      return;
    }
    case 'close': {
      await db.close();
      port.postMessage({ op: 'reply', id: msg.id, value: undefined });
      port.close();
      return;
    }
  }
}

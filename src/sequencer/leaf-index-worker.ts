/**
 * The leaf-hash index's own thread and its own LevelDB (`<data>/leaf-index/`): random-key
 * inserts cost more CPU than everything else an append does, so they run on the second core,
 * off the sequencer's thread. Messages are described in leaf-index.ts.
 */
import { mkdirSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Level } from 'level';

const KEY_INDEXED = new Uint8Array([0x00]);
const PREFIX = 0x01;

const port = parentPort!;
const location = (workerData as { location: string }).location;
mkdirSync(location, { recursive: true, mode: 0o700 });
const db = new Level<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });

function u64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  return b;
}

function readU64(b: Uint8Array): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0);
}

function key(hash: Uint8Array): Uint8Array {
  const k = new Uint8Array(33);
  k[0] = PREFIX;
  k.set(hash, 1);
  return k;
}

type Msg =
  | { op: 'indexed'; id: number }
  | { op: 'add'; start: bigint; hashes: Uint8Array }
  | { op: 'lookup'; id: number; hash: Uint8Array }
  | { op: 'close'; id: number };

// One message at a time, in order: adds must land in sequence for the marker to be right.
let chain: Promise<void> = db.open();
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
      const v = await db.get(KEY_INDEXED);
      port.postMessage({ op: 'reply', id: msg.id, value: v ? readU64(v) : 0n });
      return;
    }
    case 'add': {
      // A chained batch: abstract-level's array form costs ~20 µs of JavaScript per operation.
      const n = msg.hashes.length / 32;
      const batch = db.batch();
      for (let i = 0; i < n; i++) {
        batch.put(key(msg.hashes.subarray(i * 32, i * 32 + 32)), u64(msg.start + BigInt(i)));
      }
      batch.put(KEY_INDEXED, u64(msg.start + BigInt(n)));
      await batch.write();
      port.postMessage({ op: 'done', value: n });
      return;
    }
    case 'lookup': {
      const v = await db.get(key(msg.hash));
      port.postMessage({ op: 'reply', id: msg.id, value: v ? readU64(v) : undefined });
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

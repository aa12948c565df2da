/**
 * What the machine can do at most, measured in the same run as the log so that every log
 * result can be quoted as a fraction of it: SHA-256 hashes/s, Ed25519 signatures/s, and
 * LevelDB synced batch writes/s for the same bytes the log writes.
 */
import { generateKeyPairSync, hash, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ed from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { Level } from 'level';
import sodium from 'sodium-native';
import type { MachineInfo } from './results.js';
import { nowMs, rateLoop } from './stats.js';
import { hashLeaves, hashNodePairs } from '../src/merkle/sha256x4.js';

ed.hashes.sha512 = sha512;

/** Describes the CPU, memory, Node.js and the disk under `dir`. */
export function machineInfo(dir: string): MachineInfo {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpu = m[1].trim();
  } catch {}
  return {
    cpu,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    disk: describeDisk(dir),
  };
}

/** The filesystem holding `dir`, its device, and whether the kernel thinks the device rotates. */
function describeDisk(dir: string): string {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length >= 3 && dir.startsWith(f[1]!))
      .sort((a, b) => b[1]!.length - a[1]!.length);
    const m = mounts[0];
    if (!m) return 'unknown';
    const [dev, mnt, fs] = m as [string, string, string];
    let kind = '';
    const block = /^\/dev\/([a-z]+)/.exec(dev)?.[1];
    if (block) {
      try {
        const rot = readFileSync(`/sys/block/${block}/queue/rotational`, 'utf8').trim();
        kind = rot === '0' ? ', non-rotational' : ', rotational';
      } catch {}
      if (block.startsWith('vd')) kind += ', virtio block device';
    }
    return `${fs} on ${dev} (mounted at ${mnt}${kind})`;
  } catch {
    return 'unknown';
  }
}

/** SHA-256 hashes/s of `size`-byte messages through node:crypto's one-shot hash. */
export function sha256NodeRate(size: number, minMs: number): number {
  const msg = randomBytes(size);
  return rateLoop(
    () => {
      for (let i = 0; i < 256; i++) hash('sha256', msg, 'buffer');
    },
    256,
    minMs,
  );
}

/** SHA-256 hashes/s of `size`-byte messages through libsodium (sodium-native), into one output. */
export function sha256SodiumRate(size: number, minMs: number): number {
  const msg = new Uint8Array(randomBytes(size));
  const out = new Uint8Array(32);
  return rateLoop(
    () => {
      for (let i = 0; i < 256; i++) sodium.crypto_hash_sha256(out, msg);
    },
    256,
    minMs,
  );
}

/**
 * Hashes/s of the append path's bulk hasher (src/merkle/sha256x4.ts, four SIMD lanes), 256 at
 * a time as a batch is: for size 65, interior nodes over 64-byte child pairs; otherwise leaves
 * of (size - 1)-byte entries, so that the message hashed is `size` bytes like the other rows.
 */
export function sha256LanesRate(size: number, minMs: number): number {
  if (size === 65) {
    const pairs = new Uint8Array(randomBytes(256 * 64));
    return rateLoop(() => hashNodePairs(pairs, 256), 256, minMs);
  }
  const entries = Array.from({ length: 256 }, () => new Uint8Array(randomBytes(size - 1)));
  return rateLoop(() => hashLeaves(entries), 256, minMs);
}

/** SHA-256 hashes/s of `size`-byte messages through @noble/hashes. */
export function sha256NobleRate(size: number, minMs: number): number {
  const msg = new Uint8Array(randomBytes(size));
  return rateLoop(
    () => {
      for (let i = 0; i < 64; i++) sha256(msg);
    },
    64,
    minMs,
  );
}

/** A checkpoint-sized message: what the log signs once per batch. */
function checkpointMessage(): Uint8Array {
  const root = randomBytes(32).toString('base64');
  return new TextEncoder().encode(`bench.example/log\n1234567\n${root}\n`);
}

/** Ed25519 signatures/s through node:crypto (OpenSSL). */
export function ed25519NodeRate(minMs: number): number {
  const { privateKey } = generateKeyPairSync('ed25519');
  const msg = checkpointMessage();
  return rateLoop(
    () => {
      for (let i = 0; i < 16; i++) sign(null, msg, privateKey);
    },
    16,
    minMs,
  );
}

/** Ed25519 signatures/s through @noble/ed25519 (pure JavaScript). */
export function ed25519NobleRate(minMs: number): number {
  const secret = ed.utils.randomSecretKey();
  const msg = checkpointMessage();
  return rateLoop(
    () => {
      for (let i = 0; i < 4; i++) ed.sign(msg, secret);
    },
    4,
    minMs,
  );
}

/** Big-endian 8-byte key, so LevelDB's byte order is numeric order (as the log's keys are). */
export function u64Key(n: number): Uint8Array {
  const k = new Uint8Array(8);
  new DataView(k.buffer).setBigUint64(0, BigInt(n));
  return k;
}

/**
 * LevelDB batches/s, each batch `batchSize` puts of `entrySize` random bytes written with
 * `sync: true`, one after the other: the durable-write ceiling for a log committing batches of
 * that shape (the log writes more per batch: tiles and the checkpoint). `form` chooses between
 * abstract-level's chained batch (`db.batch().put(...).write()`), the array form
 * (`db.batch([{ type: 'put', ... }])`), which costs several times more per operation, and
 * `bundled`: the same bytes as one value per 256 entries, the way C2SP entry bundles store them.
 */
export async function levelSyncedBatchRate(
  tmp: string,
  batchSize: number,
  entrySize: number,
  minMs: number,
  minBatches: number,
  form: 'chained' | 'array' | 'bundled' = 'chained',
): Promise<number> {
  const dir = await mkdtemp(path.join(tmp, 'level-'));
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  try {
    const pool = new Uint8Array(randomBytes(entrySize + 4096));
    let next = 0;
    const once = async () => {
      if (form === 'bundled') {
        const b = db.batch();
        for (let i = 0; i < batchSize; i += 256) {
          const count = Math.min(256, batchSize - i);
          const bundle = new Uint8Array(count * entrySize);
          for (let j = 0; j < count; j++) bundle.set(pool.subarray(j, j + entrySize), j * entrySize);
          b.put(u64Key(next), bundle);
          next += count;
        }
        await b.write({ sync: true });
        return;
      }
      if (form === 'chained') {
        const b = db.batch();
        for (let i = 0; i < batchSize; i++, next++) {
          const off = next % 4096;
          b.put(u64Key(next), pool.subarray(off, off + entrySize));
        }
        await b.write({ sync: true });
        return;
      }
      const ops = [];
      for (let i = 0; i < batchSize; i++, next++) {
        const off = next % 4096;
        ops.push({ type: 'put' as const, key: u64Key(next), value: pool.subarray(off, off + entrySize) });
      }
      await db.batch(ops, { sync: true });
    };
    await once();
    let batches = 0;
    const start = nowMs();
    let elapsed = 0;
    do {
      await once();
      batches++;
      elapsed = nowMs() - start;
    } while (elapsed < minMs || batches < minBatches);
    return batches / (elapsed / 1000);
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, onTestFinished } from 'vitest';
import { AuditlogError } from '../../src/errors.js';
import { hashLeaf } from '../../src/merkle/rfc6962.js';
import { verifyInclusion } from '../../src/merkle/verify.js';
import { openCheckpoint } from '../../src/note/checkpoint.js';
import { decodeBase64 } from '../../src/note/encoding.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { parseRetentionConfig } from '../../src/records/retention-config.js';
import { RecordService } from '../../src/records/service.js';
import { Log, type LogOptions } from '../../src/sequencer/log.js';

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'auditlog-'));
}

/** A log and its record layer in a fresh directory, with a settable clock. */
export async function openLayer(
  dir = tempDir(),
  retention: unknown = undefined,
  opts: { maxCachedSubjectKeys?: number; log?: Partial<LogOptions> } = {},
): Promise<{ dir: string; log: Log; svc: RecordService; clock: { ms: number }; close(): Promise<void> }> {
  const clock = { ms: Date.parse('2026-05-16T14:23:19.000Z') };
  const { log: logOptions, ...svcOptions } = opts;
  const log = await Log.open({ dir, origin: 'localhost/records-test', ...logOptions });
  const svc = await RecordService.open({
    log,
    dataDir: dir,
    retention: parseRetentionConfig(retention, dir),
    now: () => clock.ms,
    ...svcOptions,
  });
  return {
    dir,
    log,
    svc,
    clock,
    async close() {
      await svc.close();
      await log.close();
    },
  };
}

/** The files of an archive directory but its owner mark (spec/retention.md), sorted. */
export function archiveFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n !== '.auditlog-archive-owner')
    .sort();
}

/** {@link openLayer} in a fresh directory, closed and removed when the current test finishes. */
export async function openTestLayer(retention: unknown = undefined): ReturnType<typeof openLayer> {
  const l = await openLayer(undefined, retention);
  onTestFinished(async () => {
    await l.close().catch(() => {});
    fs.rmSync(l.dir, { recursive: true, force: true });
  });
  return l;
}

/** Checks a receipt in its JSON form offline: checkpoint signature, leaf hash of `entry`, inclusion proof. */
export function verifyReceiptJSON(
  r: { index: number; tree_size: number; leaf_hash: string; inclusion_proof: string[]; checkpoint: string },
  vkey: string,
  entryB64?: string,
): void {
  const { checkpoint } = openCheckpoint(r.checkpoint, parseVerifierKey(vkey));
  expect(checkpoint.size).toBe(BigInt(r.tree_size));
  const leafHash = decodeBase64(r.leaf_hash);
  if (entryB64 !== undefined)
    expect(Buffer.from(hashLeaf(decodeBase64(entryB64)))).toEqual(Buffer.from(leafHash));
  verifyInclusion(
    BigInt(r.index),
    checkpoint.size,
    leafHash,
    r.inclusion_proof.map((p) => decodeBase64(p)),
    checkpoint.root,
  );
}

/** Every file under `dir`, recursively. */
export function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...allFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** The files under `dir` whose bytes contain `needle` (as UTF-8 if a string). */
export function filesContaining(dir: string, needle: string | Uint8Array): string[] {
  const n = typeof needle === 'string' ? Buffer.from(needle, 'utf8') : Buffer.from(needle);
  return allFiles(dir).filter((f) => fs.readFileSync(f).includes(n));
}

export async function errorCode(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(AuditlogError);
    return (err as AuditlogError).code;
  }
  throw new Error('expected an AuditlogError');
}

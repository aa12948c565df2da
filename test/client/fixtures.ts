/**
 * An in-memory log for offline client tests: leaves, signed checkpoints at any size, proofs
 * computed with merkle/proof.ts over an array oracle, and witnesses that cosign.
 */
import { portableHasher } from '../../src/merkle/portable.js';
import { consistencyProof, inclusionProof } from '../../src/merkle/proof.js';
import { treeRootFromLeafHashes } from '../../src/merkle/tiles.js';
import type { Receipt } from '../../src/client/receipt.js';
import { formatCheckpoint, signCheckpoint } from '../../src/note/checkpoint.js';
import { cosign } from '../../src/note/cosignature.js';
import {
  formatVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
  type VerifierKey,
  verifierKey,
} from '../../src/note/keys.js';
import { addSignatures } from '../../src/note/note.js';
import { ed25519Signer, generateSeed, type Signer } from '../../src/note/signer.js';

export class MemoryLog {
  readonly signer: Signer;
  readonly key: VerifierKey;
  readonly vkey: string;
  readonly entries: Uint8Array[] = [];
  readonly leaves: Uint8Array[] = [];

  constructor(readonly origin = 'test.example/log') {
    this.signer = ed25519Signer(origin, generateSeed());
    this.key = verifierKey(origin, this.signer.publicKey);
    this.vkey = formatVerifierKey(origin, this.signer.publicKey);
  }

  append(...entries: Uint8Array[]): void {
    for (const e of entries) {
      this.entries.push(e);
      this.leaves.push(portableHasher.hashLeaf(e));
    }
  }

  root(size: bigint): Uint8Array {
    return treeRootFromLeafHashes(portableHasher, this.leaves.slice(0, Number(size)));
  }

  private oracle = async (start: bigint, end: bigint) =>
    treeRootFromLeafHashes(portableHasher, this.leaves.slice(Number(start), Number(end)));

  checkpointBody(size: bigint): string {
    return formatCheckpoint({ origin: this.origin, size, root: this.root(size), extensions: [] });
  }

  async checkpoint(size: bigint, witnesses: Witness[] = []): Promise<string> {
    const note = await signCheckpoint(
      { origin: this.origin, size, root: this.root(size), extensions: [] },
      this.signer,
    );
    if (witnesses.length === 0) return note;
    const body = this.checkpointBody(size);
    return addSignatures(
      note,
      await Promise.all(witnesses.map((w) => cosign(body, w.signer, 1_700_000_000n))),
    );
  }

  async receipt(index: bigint, size: bigint, witnesses: Witness[] = []): Promise<Receipt> {
    return {
      origin: this.origin,
      index,
      treeSize: size,
      leafHash: this.leaves[Number(index)]!,
      inclusionProof: await inclusionProof(index, size, this.oracle),
      checkpoint: await this.checkpoint(size, witnesses),
      entry: this.entries[Number(index)]!,
    };
  }

  consistency(size1: bigint, size2: bigint): Promise<Uint8Array[]> {
    return consistencyProof(size1, size2, this.oracle);
  }
}

export class Witness {
  readonly signer: Signer;
  readonly key: VerifierKey;
  readonly vkey: string;
  constructor(readonly name: string) {
    this.signer = ed25519Signer(name, generateSeed());
    this.key = verifierKey(name, this.signer.publicKey, SIG_TYPE_COSIGNATURE_V1);
    this.vkey = formatVerifierKey(name, this.signer.publicKey, SIG_TYPE_COSIGNATURE_V1);
  }
}

export { codeOf } from '../helpers/errors.js';

export const te = new TextEncoder();

/**
 * A log held in memory by the test, signing with its own key: enough to make genuine signed
 * checkpoints and consistency proofs (and forks) for a witness under test. Its origin is its
 * key's name unless given (a log like the Go checksum database, whose origin differs).
 */
import { consistencyProof } from '../../src/merkle/proof.js';
import { hashLeaf, nodeHasher } from '../../src/merkle/rfc6962.js';
import { treeRootFromLeafHashes } from '../../src/merkle/tiles.js';
import { signCheckpoint } from '../../src/note/checkpoint.js';
import { formatVerifierKey } from '../../src/note/keys.js';
import { ed25519Signer, generateSeed, type Signer } from '../../src/note/signer.js';

export class FakeLog {
  readonly leaves: Uint8Array[] = [];

  constructor(
    readonly signer: Signer,
    readonly origin: string = signer.name,
  ) {}

  static create(origin: string): FakeLog {
    return new FakeLog(ed25519Signer(origin, generateSeed()));
  }

  /** A log with the same key and the same first `size` leaves (a fork after `size`). */
  fork(size: number): FakeLog {
    const f = new FakeLog(this.signer, this.origin);
    f.leaves.push(...this.leaves.slice(0, size));
    return f;
  }

  get vkey(): string {
    return formatVerifierKey(this.signer.name, this.signer.publicKey);
  }

  grow(n: number, tag = 'e'): this {
    for (let i = 0; i < n; i++)
      this.leaves.push(hashLeaf(new TextEncoder().encode(`${tag}-${this.leaves.length}`)));
    return this;
  }

  root(size: number): Uint8Array {
    return treeRootFromLeafHashes(nodeHasher, this.leaves.slice(0, size));
  }

  checkpoint(size: number, root = this.root(size)): Promise<string> {
    return signCheckpoint({ origin: this.origin, size: BigInt(size), root, extensions: [] }, this.signer);
  }

  proof(from: number, to: number): Promise<Uint8Array[]> {
    return consistencyProof(BigInt(from), BigInt(to), async (s, e) =>
      treeRootFromLeafHashes(nodeHasher, this.leaves.slice(Number(s), Number(e))),
    );
  }
}

/**
 * A log held in memory by the test, signing with its own key: enough to make genuine signed
 * checkpoints and consistency proofs (and forks) for a witness under test. Its origin is its
 * key's name unless given (a log like the Go checksum database, whose origin differs).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { consistencyProof } from '../../src/merkle/proof.js';
import { hashLeaf, nodeHasher } from '../../src/merkle/rfc6962.js';
import { parseTilePath, treeRootFromLeafHashes } from '../../src/merkle/tiles.js';
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

/**
 * The hash tile (level, index) of `width` hashes of the log's tree of all its leaves
 * (C2SP tlog-tiles); undefined beyond the tree.
 */
export function fakeTile(log: FakeLog, level: number, index: bigint, width: number): Uint8Array | undefined {
  const span = 256 ** level; // leaves under one hash of this tile
  const first = Number(index) * 256;
  if ((first + width) * span > log.leaves.length) return undefined;
  const out = new Uint8Array(width * 32);
  for (let j = 0; j < width; j++) {
    const start = (first + j) * span;
    out.set(treeRootFromLeafHashes(nodeHasher, log.leaves.slice(start, start + span)), j * 32);
  }
  return out;
}

/**
 * Serves `checkpoint()` at /checkpoint (after `gate` resolves) and the hash tiles of the log's
 * tree, as a C2SP tlog-tiles log does: no consistency-proof endpoint (a witness builds proofs
 * from the tiles).
 */
export async function serveLog(
  log: FakeLog,
  checkpoint: () => Promise<string>,
  gate: () => Promise<void> = async () => {},
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/checkpoint') {
      void gate()
        .then(checkpoint)
        .then((c) => res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(c));
      return;
    }
    let tile: Uint8Array | undefined;
    try {
      const id = parseTilePath(u.pathname.slice(1));
      if (id.level !== 'entries') tile = fakeTile(log, id.level, id.index, id.width);
    } catch {
      // not a tile path: 404
    }
    if (tile === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(tile);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

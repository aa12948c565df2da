/**
 * A tlog-tiles log held in memory and served over HTTP by the test: the entries, a signed
 * checkpoint of any size, the tiles and bundles computed from the entries, and a hook to serve
 * something else (a lie, a 404, a gzip body) for any path.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hashLeaf, nodeHasher } from '../../src/merkle/rfc6962.js';
import { encodeEntryBundle, parseTilePath, treeRootFromLeafHashes } from '../../src/merkle/tiles.js';
import { signCheckpoint } from '../../src/note/checkpoint.js';
import { formatVerifierKey, parseVerifierKey, type VerifierKey } from '../../src/note/keys.js';
import { ed25519Signer, generateSeed, type Signer } from '../../src/note/signer.js';

export type Answer = { status?: number; body: Uint8Array; headers?: Record<string, string> };

export class TileLog {
  readonly entries: Uint8Array[] = [];
  readonly leaves: Uint8Array[] = [];
  size = 0;
  note = '';
  /** Return an answer to serve instead of the honest one, or undefined. */
  override: (path: string, honest: Uint8Array | undefined) => Answer | undefined = () => undefined;
  readonly requests: string[] = [];
  private server: Server | undefined;
  url = '';

  /** `origin`: the checkpoints' origin line, the key's name unless given (`--log-origin`). */
  constructor(
    readonly signer: Signer = ed25519Signer('example.com/tile-log', generateSeed()),
    readonly origin: string = signer.name,
  ) {}

  get key(): VerifierKey {
    return parseVerifierKey(formatVerifierKey(this.signer.name, this.signer.publicKey));
  }

  add(...entries: (string | Uint8Array)[]): this {
    for (const e of entries) {
      const b = typeof e === 'string' ? new TextEncoder().encode(e) : e;
      this.entries.push(b);
      this.leaves.push(hashLeaf(b));
    }
    return this;
  }

  grow(n: number, tag = 'e'): this {
    for (let i = 0; i < n; i++) this.add(`${tag}-${this.entries.length}`);
    return this;
  }

  /** Publishes a checkpoint of `size` (default: every entry), with `root` (default: the honest one). */
  async publish(size = this.entries.length, root?: Uint8Array): Promise<void> {
    this.size = size;
    this.note = await signCheckpoint(
      {
        origin: this.origin,
        size: BigInt(size),
        root: root ?? treeRootFromLeafHashes(nodeHasher, this.leaves.slice(0, size)),
        extensions: [],
      },
      this.signer,
    );
  }

  /** The honest tile (or bundle) for a path, computed from the entries. */
  honest(path: string): Uint8Array | undefined {
    if (path === 'checkpoint') return new TextEncoder().encode(this.note);
    let id: ReturnType<typeof parseTilePath>;
    try {
      id = parseTilePath(path);
    } catch {
      return undefined;
    }
    const index = Number(id.index);
    if (id.level === 'entries') {
      if (index * 256 + id.width > this.entries.length) return undefined;
      return encodeEntryBundle(this.entries.slice(index * 256, index * 256 + id.width));
    }
    const span = 256 ** id.level;
    const out = new Uint8Array(id.width * 32);
    for (let p = 0; p < id.width; p++) {
      const start = (index * 256 + p) * span;
      if (start + span > this.leaves.length) return undefined;
      out.set(treeRootFromLeafHashes(nodeHasher, this.leaves.slice(start, start + span)), p * 32);
    }
    return out;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').replace(/^\/+/, '');
      this.requests.push(path);
      const honest = this.honest(path);
      const a =
        this.override(path, honest) ?? (honest ? { body: honest } : { status: 404, body: new Uint8Array() });
      res.writeHead(a.status ?? 200, a.headers ?? {});
      res.end(a.body);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

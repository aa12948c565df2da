/**
 * The right edge of a Merkle tree: the roots of the perfect subtrees that make up [0, size),
 * largest first. Enough to append leaves and compute the root without the rest of the tree, so
 * a monitor's position costs O(log size) bytes.
 */
import { AuditlogError } from '../errors.js';
import type { TreeHasher } from '../merkle/hasher.js';
import { foldRight } from '../merkle/proof.js';
import { decodeBase64, encodeBase64 } from '../note/encoding.js';

/** Called for every node completed by an append: tree level, index at that level, hash. */
export type NodeListener = (level: number, index: bigint, hash: Uint8Array) => void;

export class CompactRange {
  private constructor(
    private readonly hasher: TreeHasher,
    private n: bigint,
    /** Subtree roots, one per set bit of `n`, from the highest level to the lowest. */
    private readonly nodes: { level: number; hash: Uint8Array }[],
  ) {}

  static empty(hasher: TreeHasher): CompactRange {
    return new CompactRange(hasher, 0n, []);
  }

  get size(): bigint {
    return this.n;
  }

  /** Appends a leaf hash; `onNode` sees the leaf (level 0) and every node it completes. */
  append(leafHash: Uint8Array, onNode?: NodeListener): void {
    let node = { level: 0, hash: leafHash };
    let index = this.n;
    onNode?.(0, index, leafHash);
    while (this.nodes.length > 0 && this.nodes[this.nodes.length - 1]!.level === node.level) {
      const left = this.nodes.pop()!;
      node = { level: node.level + 1, hash: this.hasher.hashChildren(left.hash, node.hash) };
      index >>= 1n;
      onNode?.(node.level, index, node.hash);
    }
    this.nodes.push(node);
    this.n++;
  }

  /** The root of the perfect subtree at `level` in this range (bit `level` of the size), if any. */
  nodeAt(level: number): Uint8Array | undefined {
    return this.nodes.find((x) => x.level === level)?.hash;
  }

  /** MTH of [0, size). */
  root(): Uint8Array {
    if (this.n === 0n) return this.hasher.emptyRoot;
    return foldRight(
      this.hasher,
      this.nodes.map((x) => x.hash),
    );
  }

  clone(): CompactRange {
    return new CompactRange(this.hasher, this.n, this.nodes.slice());
  }

  /** `<size> <level>:<base64 hash> ...`, for storage. */
  serialize(): string {
    return [this.n.toString(), ...this.nodes.map((x) => `${x.level}:${encodeBase64(x.hash)}`)].join(' ');
  }

  /**
   * Parses what `serialize` wrote and checks the levels are exactly the set bits of the size.
   * @throws AuditlogError('STORAGE')
   */
  static parse(hasher: TreeHasher, s: string): CompactRange {
    const [sizeText, ...parts] = s.split(' ');
    if (!/^(0|[1-9][0-9]*)$/.test(sizeText ?? ''))
      throw new AuditlogError('STORAGE', 'compact range: bad size');
    const n = BigInt(sizeText!);
    const nodes = parts.map((p) => {
      const m = /^([0-9]{1,2}):(.+)$/.exec(p);
      if (!m) throw new AuditlogError('STORAGE', 'compact range: bad node');
      const hash = decodeBase64(m[2]!, 'STORAGE', 'compact range hash');
      if (hash.length !== 32) throw new AuditlogError('STORAGE', 'compact range: bad hash');
      return { level: Number(m[1]), hash };
    });
    const want: number[] = [];
    for (let l = 63; l >= 0; l--) if ((n >> BigInt(l)) & 1n) want.push(l);
    if (want.join() !== nodes.map((x) => x.level).join()) {
      throw new AuditlogError('STORAGE', 'compact range: levels do not match the size');
    }
    return new CompactRange(hasher, n, nodes);
  }
}

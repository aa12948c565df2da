/**
 * The leaf-hash index's own thread and its own LevelDB (`<data>/leaf-index/`): the index's
 * CPU (sorting, encoding, LevelDB writes and compaction) runs on the second core, off the
 * sequencer's thread. Messages are described in leaf-index.ts; the layout (normative) in
 * spec/storage.md, "The leaf-hash index".
 *
 * An LSM of sorted runs. The hash prefixes of the current incomplete run (`runSize` leaves,
 * aligned) stay in memory; a complete run is sorted by (8-byte hash prefix, index descending)
 * and written as pages of `pageEntries` entries, one LevelDB key per page, in one batch with
 * the marker. `fanout` runs of one level are merged, a step (one batch) at a time between
 * messages, into one run of the next; the top level is never merged. Every entry is in
 * exactly one page at every moment (a step writes the merged pages and deletes or trims their
 * sources atomically), so a lookup reads each run that exists, one page (rarely a few) per
 * run, and finds every entry once.
 */
import { mkdirSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Level } from 'level';
import { concatBytes } from '../note/encoding.js';

/** Parameters recorded in the layout key: an index written with others is cleared and rebuilt. */
export interface LeafIndexLayout {
  /** Leaves per level-0 run; level-0 run r covers indices [r·runSize, (r+1)·runSize). */
  runSize: number;
  /** Runs of one level merged into one run of the next; a level-L run covers runSize·fanout^L leaves. */
  fanout: number;
  /** Levels 0 .. levels−1; runs of the top level are never merged. */
  levels: number;
  /** Entries per page (one LevelDB value); only a run's last page, or the first page left of a
   * run being merged, holds fewer. */
  pageEntries: number;
}

/** What leaf-index.ts hands the worker. */
export interface LeafIndexWorkerData {
  location: string;
  layout: LeafIndexLayout;
  /** About how many entries one merge step reads (a step holds up adds and lookups meanwhile). */
  mergeChunkEntries: number;
}

const KEY_INDEXED = new Uint8Array([0x00]);
const KEY_LAYOUT = new Uint8Array([0x02]);
const PAGE = 0x03;
const MERGED = 0x04;
/** Key layout version; 1 was `0x01 ‖ hash → index`, 2 was `0x01 ‖ hash[0:8] ‖ index`, one key per leaf. */
const VERSION = 3;
/** An entry in a page: hash[0:8], then the index minus the run's start (u32 BE). */
const ENTRY_BYTES = 12;
/** A page key's tail: its last entry in entry order, hash[0:8] ‖ 2^64 − 1 − index. */
const SK_BYTES = 16;
/**
 * Most indices a lookup returns. Entries sharing an 8-byte prefix belong to one leaf hash
 * unless two hashes collide in 64 bits, so the first candidate nearly always verifies.
 */
const LOOKUP_CANDIDATES = 16;

const port = parentPort!;
const { location, layout, mergeChunkEntries } = workerData as LeafIndexWorkerData;
const { runSize, fanout, levels, pageEntries } = layout;
const TOP = levels - 1;
/** Pages read from each source per merge step: at least 2, so that a step always writes a full page. */
const CHUNK_PAGES = Math.max(2, Math.floor(mergeChunkEntries / (fanout * pageEntries)));
mkdirSync(location, { recursive: true, mode: 0o700 });
/**
 * Pages are mostly random hash prefixes, which Snappy cannot shrink. A 16 MiB memtable (the
 * default is 4 MiB) and 8 MiB tables halve LevelDB's compaction work here (measured: ~0.47 →
 * ~0.26 ms of compaction CPU per 1000 leaves); the price is up to 16 MiB more write-ahead
 * log to replay after a crash.
 */
const db = new Level<Uint8Array, Uint8Array>(location, {
  keyEncoding: 'view',
  valueEncoding: 'view',
  compression: false,
  writeBufferSize: 16 << 20,
  maxFileSize: 8 << 20,
});

// ---- numbers and keys ----

/** Writes `v` (a non-negative safe integer) as u64 big-endian at `off`. */
function writeU64(b: Uint8Array, off: number, v: number): void {
  writeU32(b, off, Math.floor(v / 2 ** 32));
  writeU32(b, off + 4, v >>> 0);
}

/** Writes `v` (0 <= v < 2^32) as u32 big-endian at `off`. */
function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** Reads a u64 big-endian value that must be a safe integer; undefined otherwise. */
function readSafeU64(b: Uint8Array | undefined): number | undefined {
  if (b?.length !== 8) return undefined;
  const v = readU32(b, 0) * 2 ** 32 + readU32(b, 4);
  return Number.isSafeInteger(v) ? v : undefined;
}

function u64(v: number): Uint8Array {
  const b = new Uint8Array(8);
  writeU64(b, 0, v);
  return b;
}

/** Leaves covered by one run of `level`. */
function runLength(level: number): number {
  return runSize * fanout ** level;
}

/** `0x03 ‖ level ‖ start (u64 BE)`: the prefix of every page key of that run. */
function runPrefix(level: number, start: number): Uint8Array {
  const k = new Uint8Array(10);
  k[0] = PAGE;
  k[1] = level;
  writeU64(k, 2, start);
  return k;
}

/**
 * `0x03 ‖ level ‖ run start ‖ hash[0:8] ‖ (2^64 − 1 − index)`, all big-endian: the key of the
 * page whose last entry is (hi ‖ lo, index). Byte order is the entries' order: prefix
 * ascending, then index descending.
 */
function pageKey(level: number, start: number, hi: number, lo: number, index: number): Uint8Array {
  const k = new Uint8Array(26);
  k.set(runPrefix(level, start), 0);
  writeU32(k, 10, hi);
  writeU32(k, 14, lo);
  writeU32(k, 18, 0xffffffff - Math.floor(index / 2 ** 32));
  writeU32(k, 22, 0xffffffff - (index >>> 0));
  return k;
}

function mergedKey(level: number): Uint8Array {
  return new Uint8Array([MERGED, level]);
}

function layoutValue(): Uint8Array {
  const v = new Uint8Array(14);
  v[0] = VERSION;
  writeU32(v, 1, runSize);
  writeU32(v, 5, fanout);
  v[9] = levels;
  writeU32(v, 10, pageEntries);
  return v;
}

// ---- entries and pages ----

/** Entries as parallel arrays: the 8-byte hash prefix as two u32 halves, and the leaf index. */
interface Entries {
  hi: Uint32Array;
  lo: Uint32Array;
  index: Float64Array;
}

/**
 * Scratch space for a merge step's entries and for encoding pages, reused from step to step:
 * allocating (and the kernel zeroing) a few hundred KiB per step costs more than the merge.
 */
let scratch: Entries = { hi: new Uint32Array(0), lo: new Uint32Array(0), index: new Float64Array(0) };
let pageBytes = new Uint8Array(0);

/** Scratch entries for at least n entries (their contents are left over from earlier steps). */
function scratchEntries(n: number): Entries {
  if (scratch.hi.length < n)
    scratch = { hi: new Uint32Array(n), lo: new Uint32Array(n), index: new Float64Array(n) };
  return scratch;
}

/** Counts per bucket for sortOrder, reused (2^16 buckets at most). */
const bucketStarts = new Uint32Array((1 << 16) + 1);

/**
 * Positions 0..n−1 of `e` in entry order (prefix ascending, then index descending): a
 * counting sort on the prefix's top bits, about one entry per bucket for random hashes, then
 * a sort within each bucket (duplicates and shared prefixes land in one).
 */
function sortOrder(e: Entries, n: number): Uint32Array {
  if (n === 0) return new Uint32Array(0);
  // Bucket on the top bits of hi − least hi: a merge step's entries span a slice of prefixes.
  let least = 0xffffffff;
  let most = 0;
  for (let i = 0; i < n; i++) {
    least = Math.min(least, e.hi[i]!);
    most = Math.max(most, e.hi[i]!);
  }
  const bits = Math.min(16, Math.max(1, Math.ceil(Math.log2(n + 1))));
  const shift = Math.max(0, 32 - Math.clz32(most - least) - bits);
  const buckets = ((most - least) >>> shift) + 1;
  const starts = bucketStarts.subarray(0, buckets + 1).fill(0);
  for (let i = 0; i < n; i++) starts[((e.hi[i]! - least) >>> shift) + 1]!++;
  for (let b = 0; b < buckets; b++) starts[b + 1]! += starts[b]!;
  const order = new Uint32Array(n);
  // Fill each bucket from its start, leaving starts[b] at the bucket's end (= start of b + 1).
  for (let i = 0; i < n; i++) order[starts[(e.hi[i]! - least) >>> shift]!++] = i;
  let from = 0;
  for (let b = 0; b < buckets; b++) {
    const to = starts[b]!;
    if (to - from > 1) sortBucket(e, order, from, to);
    from = to;
  }
  return order;
}

/** Whether entry x comes after entry y: positive if so (prefix ascending, index descending). */
function entryAfter(e: Entries, x: number, y: number): number {
  return e.hi[x]! - e.hi[y]! || e.lo[x]! - e.lo[y]! || e.index[y]! - e.index[x]!;
}

/** Sorts order[from..to) in entry order: insertion sort when short, else the built-in sort. */
function sortBucket(e: Entries, order: Uint32Array, from: number, to: number): void {
  if (to - from > 16) {
    order.subarray(from, to).sort((x, y) => entryAfter(e, x, y));
    return;
  }
  for (let i = from + 1; i < to; i++) {
    const x = order[i]!;
    let j = i - 1;
    for (; j >= from && entryAfter(e, order[j]!, x) > 0; j--) order[j + 1] = order[j]!;
    order[j + 1] = x;
  }
}

/**
 * Puts entries order[from..to) of `e` into `batch` as pages of run (level, start); returns
 * the pages' key tails (16 bytes each, in order) for the run's page directory.
 */
function putPages(
  batch: ReturnType<typeof db.batch>,
  level: number,
  start: number,
  e: Entries,
  order: Uint32Array,
  from: number,
  to: number,
): Uint8Array {
  // LevelDB copies a value into the batch when it is put: one buffer serves every page.
  if (pageBytes.length < (to - from) * ENTRY_BYTES) pageBytes = new Uint8Array((to - from) * ENTRY_BYTES);
  const bytes = pageBytes;
  const view = new DataView(bytes.buffer);
  for (let i = from; i < to; i++) {
    const j = order[i]!;
    const off = (i - from) * ENTRY_BYTES;
    view.setUint32(off, e.hi[j]!);
    view.setUint32(off + 4, e.lo[j]!);
    view.setUint32(off + 8, e.index[j]! - start);
  }
  const tails = new Uint8Array(Math.ceil((to - from) / pageEntries) * SK_BYTES);
  for (let a = from; a < to; a += pageEntries) {
    const b = Math.min(to, a + pageEntries);
    const last = order[b - 1]!;
    const key = pageKey(level, start, e.hi[last]!, e.lo[last]!, e.index[last]!);
    batch.put(key, bytes.subarray((a - from) * ENTRY_BYTES, (b - from) * ENTRY_BYTES));
    tails.set(key.subarray(10), ((a - from) / pageEntries) * SK_BYTES);
  }
  return tails;
}

/**
 * Compares entry `i` of `page` (of a run starting at `start`) with (hi ‖ lo, index) in entry
 * order: negative if the entry comes first.
 */
function compareEntry(
  page: Uint8Array,
  i: number,
  start: number,
  hi: number,
  lo: number,
  index: number,
): number {
  const off = i * ENTRY_BYTES;
  return readU32(page, off) - hi || readU32(page, off + 4) - lo || index - (start + readU32(page, off + 8));
}

/** The first entry of `page` not before (hi ‖ lo, index); the page's length if none. */
function lowerBound(page: Uint8Array, start: number, hi: number, lo: number, index: number): number {
  let a = 0;
  let b = page.length / ENTRY_BYTES;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (compareEntry(page, m, start, hi, lo, index) < 0) a = m + 1;
    else b = m;
  }
  return a;
}

// ---- state ----

/** Leaves [0, marker) are in runs on disk; a multiple of runSize. */
let marker = 0;
/** merged[L] (L < TOP): level-L runs below it have been merged into level L+1. */
let merged: number[] = new Array(TOP).fill(0);
/** Hash prefixes of leaves [marker, marker + memCount), the incomplete run. */
const memHi = new Uint32Array(runSize);
const memLo = new Uint32Array(runSize);
let memCount = 0;
/** Set when a run could not be written: adds are refused until the next start-up. */
let failed = false;
let closed = false;

/** Opens the database; an index in another layout (or none, or damaged) is cleared, to be rebuilt. */
async function open(): Promise<void> {
  await db.open();
  const stored = await db.get(KEY_LAYOUT);
  if (stored && Buffer.from(stored).equals(layoutValue())) {
    const raw = await db.get(KEY_INDEXED);
    const m = raw === undefined ? 0 : readSafeU64(raw);
    const p: (number | undefined)[] = [];
    for (let l = 0; l < TOP; l++) {
      const v = await db.get(mergedKey(l));
      p.push(v === undefined ? 0 : readSafeU64(v));
    }
    if (m !== undefined && consistent(m, p)) {
      marker = m;
      merged = p as number[];
      return;
    }
  }
  await clearIndex();
}

/** Whether a marker and merge pointers can describe an index in this layout. */
function consistent(m: number, p: (number | undefined)[]): boolean {
  if (m % runSize !== 0) return false;
  let upper = m;
  for (let l = 0; l < TOP; l++) {
    const v = p[l];
    if (v === undefined || v % runLength(l + 1) !== 0 || v > upper) return false;
    upper = v;
  }
  return true;
}

/** Empties the index (to be rebuilt from the tiles from index 0), keeping the layout. */
async function clearIndex(): Promise<void> {
  await db.clear();
  await db.put(KEY_LAYOUT, layoutValue(), { sync: true });
  marker = 0;
  merged = new Array(TOP).fill(0);
  memCount = 0;
  failed = false;
  mergeFailed = false;
  clearDirectories();
}

// ---- adding ----

/**
 * Appends the leaf hashes `hashes` (32 bytes each, for the indices from marker + memCount on)
 * to the incomplete run, writing each run as it completes.
 */
async function add(hashes: Uint8Array): Promise<void> {
  const n = hashes.length / 32;
  for (let i = 0; i < n; i++) {
    memHi[memCount] = readU32(hashes, i * 32);
    memLo[memCount] = readU32(hashes, i * 32 + 4);
    memCount++;
    if (memCount === runSize) await writeRun();
  }
}

/** Writes the complete in-memory run as level-0 run `marker`, with the marker, in one batch. */
async function writeRun(): Promise<void> {
  const e: Entries = { hi: memHi, lo: memLo, index: new Float64Array(runSize) };
  for (let i = 0; i < runSize; i++) e.index[i] = marker + i;
  const batch = db.batch();
  const tails = putPages(batch, 0, marker, e, sortOrder(e, runSize), 0, runSize);
  batch.put(KEY_INDEXED, u64(marker + runSize));
  await batch.write();
  keepDirectory(0, marker, tails);
  marker += runSize;
  memCount = 0;
  mergeFailed = false;
}

// ---- runs and merging ----

interface Run {
  level: number;
  start: number;
  end: number;
}

/** The end of what level `level` covers: level-L runs lie in [merged[L], upper(L)). */
function upper(level: number): number {
  return level === 0 ? marker : merged[level - 1]!;
}

/** Whether level `level`'s next group (fanout runs from merged[level]) is complete and due to merge. */
function isDue(level: number): boolean {
  return level < TOP && merged[level]! + runLength(level + 1) <= upper(level);
}

/**
 * Every run that may hold entries, latest end first: the runs of each level, and, for a merge
 * under way, its target run as well as its sources (each entry is in one or the other).
 */
function runs(): Run[] {
  const out: Run[] = [];
  for (let l = 0; l <= TOP; l++) {
    const len = runLength(l);
    for (let s = l === TOP ? 0 : merged[l]!; s < upper(l); s += len)
      out.push({ level: l, start: s, end: s + len });
    if (l > 0 && isDue(l - 1)) out.push({ level: l, start: merged[l - 1]!, end: merged[l - 1]! + len });
  }
  return out.sort((a, b) => b.end - a.end);
}

/** The lowest level whose next group is due to merge, or −1. */
function dueLevel(): number {
  return merged.findIndex((_, l) => isDue(l));
}

interface Source {
  pages: [Uint8Array, Uint8Array][];
  start: number;
  /** Whether `pages` are all the run has left. */
  exhausted: boolean;
}

/** A position in entry order: (hash prefix hi ‖ lo, leaf index). */
interface Bound {
  hi: number;
  lo: number;
  index: number;
}

/**
 * One step of merging the fanout runs of level `level` starting at merged[level] into one
 * run of level+1: reads at most CHUNK_PAGES pages left in each source, writes the entries up
 * to a bound below which every source has been read (whole pages) to the target, deletes
 * or trims the source pages, and, when the sources are empty, advances merged[level]; all
 * in one batch. Requires isDue(level).
 */
async function mergeStep(level: number): Promise<void> {
  const group = merged[level]!;
  const after = await mergedUpTo(level, group);
  const sources = await readSources(level, group, after);
  let bound = readBound(sources);
  const { e, n } = entriesUpTo(sources, bound);
  const order = sortOrder(e, n);
  // Whole pages only, unless this is the end: a short page is only ever a run's last.
  const cut = bound && n >= pageEntries ? n - (n % pageEntries) : n;
  if (bound) {
    const j = order[cut - 1]!;
    bound = { hi: e.hi[j]!, lo: e.lo[j]!, index: e.index[j]! };
  }
  const batch = db.batch();
  const tails = putPages(batch, level + 1, group, e, order, 0, cut);
  for (const src of sources) trimSource(batch, src, bound);
  if (!bound) batch.put(mergedKey(level), u64(group + runLength(level + 1)));
  await batch.write();
  // The target's page directory, if this process wrote all of its pages.
  const target = runName(level + 1, group);
  if (!after) building.set(target, []);
  building.get(target)?.push(tails);
  if (!bound) {
    merged[level] = group + runLength(level + 1);
    for (const src of sources) dropDirectory(level, src.start);
    const parts = building.get(target);
    building.delete(target);
    if (parts) keepDirectory(level + 1, group, concatBytes(...parts));
  }
}

/**
 * Where the merge of level `level`'s group at `group` has got to: the last entry of its target
 * run (the last 16 bytes of its last page key, in entry order), undefined before the first step.
 */
async function mergedUpTo(level: number, group: number): Promise<Uint8Array | undefined> {
  const [last] = await db
    .keys({ gte: runPrefix(level + 1, group), lt: runPrefix(level + 1, group + 1), reverse: true, limit: 1 })
    .all();
  return last?.slice(10);
}

/**
 * The first pages (at most CHUNK_PAGES) left in each run of level `level` in the group at
 * `group`, through one iterator (creating one costs more than a seek). Each seek starts past
 * `after` (the entries already merged): LevelDB would otherwise step over the deleted pages'
 * tombstones again in every step.
 */
async function readSources(level: number, group: number, after: Uint8Array | undefined): Promise<Source[]> {
  const sources: Source[] = [];
  const it = db.iterator({
    gte: runPrefix(level, group),
    lt: runPrefix(level, group + runLength(level + 1)),
    // nextv stops early past this many bytes; room for the pages asked for.
    highWaterMarkBytes: 2 * (CHUNK_PAGES + 1) * (pageEntries * ENTRY_BYTES + 64),
  });
  try {
    for (let s = group; s < group + runLength(level + 1); s += runLength(level)) {
      const prefix = runPrefix(level, s);
      const from = new Uint8Array(26);
      from.set(prefix, 0);
      if (after) from.set(after, 10); // no page ends at `after` any more: it was deleted
      it.seek(after ? from : prefix);
      const pages = (await it.nextv(CHUNK_PAGES + 1)).filter(([k]) => startsWith(k, prefix));
      sources.push({ pages: pages.slice(0, CHUNK_PAGES), start: s, exhausted: pages.length <= CHUNK_PAGES });
    }
  } finally {
    await it.close();
  }
  return sources;
}

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

/**
 * The least, over sources with pages left after those read, of the last entry read: every
 * entry up to it has been read. Undefined when every source has been read to its end.
 */
function readBound(sources: Source[]): Bound | undefined {
  let bound: Bound | undefined;
  for (const src of sources) {
    if (src.exhausted) continue;
    const page = src.pages[src.pages.length - 1]![1];
    const i = page.length / ENTRY_BYTES - 1;
    const b = {
      hi: readU32(page, i * ENTRY_BYTES),
      lo: readU32(page, i * ENTRY_BYTES + 4),
      index: src.start + readU32(page, i * ENTRY_BYTES + 8),
    };
    if (!bound || compareBounds(b, bound) < 0) bound = b;
  }
  return bound;
}

function compareBounds(a: Bound, b: Bound): number {
  return a.hi - b.hi || a.lo - b.lo || b.index - a.index;
}

/** How many entries of `page` (of a run starting at `start`) come up to `bound` inclusive. */
function countUpTo(page: Uint8Array, start: number, bound: Bound | undefined): number {
  if (!bound) return page.length / ENTRY_BYTES;
  // The first entry after bound is the lower bound of the entry just after it in order.
  return lowerBound(page, start, bound.hi, bound.lo, bound.index - 1);
}

/** The sources' read entries up to `bound` (all when undefined), unsorted. */
function entriesUpTo(sources: Source[], bound: Bound | undefined): { e: Entries; n: number } {
  let total = 0;
  for (const src of sources) for (const [, page] of src.pages) total += page.length / ENTRY_BYTES;
  const e = scratchEntries(total);
  let n = 0;
  for (const src of sources) {
    for (const [, page] of src.pages) {
      const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
      const k = countUpTo(page, src.start, bound);
      for (let off = 0; off < k * ENTRY_BYTES; off += ENTRY_BYTES) {
        e.hi[n] = view.getUint32(off);
        e.lo[n] = view.getUint32(off + 4);
        e.index[n] = src.start + view.getUint32(off + 8);
        n++;
      }
    }
  }
  return { e, n };
}

/** Deletes the source's read pages that lie up to `bound`, and trims the one it cuts. */
function trimSource(batch: ReturnType<typeof db.batch>, src: Source, bound: Bound | undefined): void {
  for (const [key, page] of src.pages) {
    const k = countUpTo(page, src.start, bound);
    if (k * ENTRY_BYTES === page.length) batch.del(key);
    else if (k > 0) batch.put(key, page.slice(k * ENTRY_BYTES)); // same last entry, same key
  }
}

// ---- lookups ----

/**
 * Page directories: for a run whose pages do not change (not in a merge under way), the key
 * tail (hash[0:8] ‖ 2^64 − 1 − index, 16 bytes) of each page, in order. With them a lookup
 * names the one page it needs in each run and reads them all with one getMany, instead of a
 * seek per run. Kept as runs are written (and merged, when this process did the whole merge);
 * otherwise, as after a restart, built from the run's keys when a lookup first needs it, at most
 * DIRECTORY_BUILD_PAGES pages' worth per lookup (so that no lookup waits long for them), and
 * kept up to DIRECTORY_BYTES in all (16 bytes per page: 1 MiB per 2^24 leaves, so up to ~10^9
 * leaves); runs without one are read with a seek.
 */
const directories = new Map<string, Uint8Array>();
let directoryBytes = 0;
/** Key tails of the pages written so far to the targets of merges this process began. */
const building = new Map<string, Uint8Array[]>();
const DIRECTORY_BYTES = 64 << 20;
const DIRECTORY_BUILD_PAGES = 2048;

function runName(level: number, start: number): string {
  return `${level}:${start}`;
}

function dropDirectory(level: number, start: number): void {
  const d = directories.get(runName(level, start));
  if (d) directoryBytes -= d.length;
  directories.delete(runName(level, start));
}

function clearDirectories(): void {
  directories.clear();
  building.clear();
  directoryBytes = 0;
}

/** Keeps `d` as the directory of run (level, start), room permitting. */
function keepDirectory(level: number, start: number, d: Uint8Array): void {
  if (directoryBytes + d.length > DIRECTORY_BYTES) return;
  dropDirectory(level, start);
  directories.set(runName(level, start), d);
  directoryBytes += d.length;
}

/** Whether `run` is a source or the target of a merge under way (its pages may change). */
function changing(run: Run): boolean {
  const l = run.level;
  if (l < TOP && isDue(l) && run.start < merged[l]! + runLength(l + 1) && run.start >= merged[l]!)
    return true;
  return l > 0 && isDue(l - 1) && run.start === merged[l - 1]!;
}

/**
 * The directory of `run` (which must not be changing), read from its keys if not kept and
 * `budget.pages` allows; undefined otherwise.
 */
async function directory(run: Run, budget: { pages: number }): Promise<Uint8Array | undefined> {
  const name = runName(run.level, run.start);
  const kept = directories.get(name);
  if (kept || budget.pages <= 0 || directoryBytes >= DIRECTORY_BYTES) return kept;
  const keys = await db
    .keys({ gte: runPrefix(run.level, run.start), lt: runPrefix(run.level, run.start + 1) })
    .all();
  const d = new Uint8Array(keys.length * SK_BYTES);
  for (let i = 0; i < keys.length; i++) d.set(keys[i]!.subarray(10), i * SK_BYTES);
  budget.pages -= keys.length;
  keepDirectory(run.level, run.start, d);
  return d;
}

/** The key of the first page of `run` listed in `d` whose last entry is not before (hi ‖ lo, index). */
function pageFor(d: Uint8Array, run: Run, hi: number, lo: number, index: number): Uint8Array | undefined {
  const target = pageKey(run.level, run.start, hi, lo, index).subarray(10);
  let a = 0;
  let b = d.length / SK_BYTES;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (Buffer.compare(d.subarray(m * SK_BYTES, (m + 1) * SK_BYTES), target) < 0) a = m + 1;
    else b = m;
  }
  if (a === d.length / SK_BYTES) return undefined;
  const key = new Uint8Array(10 + SK_BYTES);
  key.set(runPrefix(run.level, run.start), 0);
  key.set(d.subarray(a * SK_BYTES, (a + 1) * SK_BYTES), 10);
  return key;
}

/**
 * Up to LOOKUP_CANDIDATES indices below `below` whose leaf hashes start with hash[0:8],
 * latest first: from the incomplete run in memory and from each run on disk that starts
 * below `below`. Each run contributes its latest LOOKUP_CANDIDATES such entries at most:
 * runs with a directory through one getMany (one page each), the others, and those whose
 * entries go on past that page, through one iterator with a seek per run.
 */
async function lookup(hash: Uint8Array, below: number): Promise<number[]> {
  const hi = readU32(hash, 0);
  const lo = readU32(hash, 4);
  const found: number[] = [];
  for (let i = Math.min(memCount, below - marker) - 1; i >= 0 && found.length < LOOKUP_CANDIDATES; i--)
    if (memHi[i] === hi && memLo[i] === lo) found.push(marker + i);
  const budget = { pages: DIRECTORY_BUILD_PAGES };
  const direct: { run: Run; key: Uint8Array }[] = [];
  const seek: Run[] = [];
  for (const run of runs()) {
    if (run.start >= below) continue;
    const last = Math.min(below, run.end) - 1;
    const d = changing(run) ? undefined : await directory(run, budget);
    if (!d) seek.push(run);
    else {
      const key = pageFor(d, run, hi, lo, last);
      if (key) direct.push({ run, key });
    }
  }
  const pages = direct.length > 0 ? await db.getMany(direct.map((r) => r.key)) : [];
  for (let i = 0; i < direct.length; i++) {
    const { run } = direct[i]!;
    const page = pages[i];
    const more = page ? entriesIn(page, run, hi, lo, Math.min(below, run.end) - 1) : undefined;
    if (more) found.push(...more);
    else seek.push(run); // the entries go on past the page
  }
  if (seek.length > 0) {
    const it = pageIterator();
    try {
      for (const run of seek) found.push(...(await lookupRun(it, run, hi, lo, Math.min(below, run.end) - 1)));
    } finally {
      await it.close();
    }
  }
  found.sort((a, b) => b - a);
  found.length = Math.min(found.length, LOOKUP_CANDIDATES);
  return found;
}

/**
 * The indices <= `last` with prefix (hi ‖ lo) in `page` of `run`, latest first, from the
 * first entry not before (hi ‖ lo, last): at most LOOKUP_CANDIDATES; undefined if they may go
 * on in the next page.
 */
function entriesIn(page: Uint8Array, run: Run, hi: number, lo: number, last: number): number[] | undefined {
  const out: number[] = [];
  return collect(page, run, hi, lo, last, out) ? out : undefined;
}

/**
 * Appends to `out` the indices <= `last` with prefix (hi ‖ lo) in `page` of `run`, from the
 * first entry not before (hi ‖ lo, last). True when done: the prefix ended in the page or
 * `out` holds LOOKUP_CANDIDATES; false if the entries may go on in the next page.
 */
function collect(page: Uint8Array, run: Run, hi: number, lo: number, last: number, out: number[]): boolean {
  const n = page.length / ENTRY_BYTES;
  for (let i = lowerBound(page, run.start, hi, lo, last); i < n; i++) {
    if (out.length === LOOKUP_CANDIDATES) return true;
    if (readU32(page, i * ENTRY_BYTES) !== hi || readU32(page, i * ENTRY_BYTES + 4) !== lo) return true;
    out.push(run.start + readU32(page, i * ENTRY_BYTES + 8));
  }
  return out.length === LOOKUP_CANDIDATES;
}

/** An iterator over every page, reading ahead at most two pages after a seek. */
function pageIterator() {
  return db.iterator<Uint8Array, Uint8Array>({
    gte: new Uint8Array([PAGE]),
    lt: new Uint8Array([PAGE + 1]),
    highWaterMarkBytes: 2 * pageEntries * ENTRY_BYTES,
  });
}

/**
 * Up to LOOKUP_CANDIDATES indices <= `last` in `run` whose prefix is (hi ‖ lo), latest
 * first: from the page holding the first entry not before (hi ‖ lo, last), and the pages after
 * it while they go on with that prefix. `it` iterates over every page.
 */
async function lookupRun(
  it: ReturnType<typeof pageIterator>,
  run: Run,
  hi: number,
  lo: number,
  last: number,
): Promise<number[]> {
  const out: number[] = [];
  const prefix = runPrefix(run.level, run.start);
  it.seek(pageKey(run.level, run.start, hi, lo, last));
  for (let entry = await it.next(); entry && startsWith(entry[0], prefix); entry = await it.next())
    if (collect(entry[1], run, hi, lo, last, out)) break;
  return out;
}

// ---- messages ----

type Msg =
  | { op: 'indexed'; id: number }
  | { op: 'reset'; id: number }
  | { op: 'add'; start: bigint; hashes: Uint8Array }
  | { op: 'lookup'; id: number; hash: Uint8Array; below: bigint }
  | { op: 'close'; id: number };

// One task at a time, in order: adds must land in sequence for the marker to be right, and a
// merge step must not interleave with another task's reads. After each task, and while idle,
// one merge step if one is due: merges keep pace with adds, and a message waits for at most
// one step.
const tasks: (() => Promise<void>)[] = [];
let draining = false;
/** Set when a merge step failed: merging waits for the next run written (or reset). */
let mergeFailed = false;

function enqueue(task: () => Promise<void>): void {
  tasks.push(task);
  if (!draining) void drain();
}

async function drain(): Promise<void> {
  draining = true;
  for (;;) {
    const task = tasks.shift();
    if (task) await runTask(task);
    const level = closed || mergeFailed ? -1 : dueLevel();
    if (level >= 0) {
      await runTask(() =>
        mergeStep(level).catch((err: unknown) => {
          mergeFailed = true;
          throw err;
        }),
      );
    } else if (!task) break;
  }
  draining = false;
}

async function runTask(task: () => Promise<void>): Promise<void> {
  try {
    await task();
  } catch (err) {
    port.postMessage({ op: 'error', message: (err as Error).message });
  }
}

let opened: Promise<void> = Promise.resolve();
enqueue(() => {
  opened = open();
  return opened;
});
port.on('message', (msg: Msg) => enqueue(() => handle(msg)));

/** Answers a request with `value`, or with the error when `f` fails. */
async function reply(id: number, f: () => Promise<unknown>): Promise<void> {
  try {
    await opened;
    port.postMessage({ op: 'reply', id, value: await f() });
  } catch (err) {
    port.postMessage({ op: 'reply', id, error: (err as Error).message });
  }
}

async function handle(msg: Msg): Promise<void> {
  switch (msg.op) {
    case 'indexed':
      return reply(msg.id, async () => BigInt(marker));
    case 'add':
      return handleAdd(msg.start, msg.hashes);
    case 'reset':
      return reply(msg.id, clearIndex);
    case 'lookup':
      return reply(msg.id, async () => {
        const found = await lookup(msg.hash, Number(msg.below));
        return found.map((i) => BigInt(i));
      });
    case 'close':
      closed = true;
      return reply(msg.id, async () => {
        await db.close();
        setImmediate(() => port.close());
      });
  }
}

/** Adds a run of hashes; refuses one not starting at the index's reach, or after a failed write. */
async function handleAdd(start: bigint, hashes: Uint8Array): Promise<void> {
  try {
    await opened;
    const reach = BigInt(marker + memCount);
    // Never write past a gap: the marker would claim hashes that are not indexed.
    if (failed || start !== reach) throw new Error(`add at ${start}, index reaches ${reach}: skipped`);
    try {
      await add(hashes);
    } catch (err) {
      failed = true; // the incomplete run is in an unknown state: left to the next start-up
      throw err;
    }
  } finally {
    port.postMessage({ op: 'done', value: hashes.length / 32 });
  }
}

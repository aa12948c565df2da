#!/usr/bin/env node
/**
 * Generates src/merkle/sha256x4-wasm.ts: a WebAssembly module that runs four SHA-256
 * computations at once in 128-bit SIMD lanes (one message per 32-bit lane), for the two
 * shapes of input an RFC 6962 log hashes in bulk:
 *
 *   hashPadded4(p0, p1, p2, p3, blocks, o0, o1, o2, o3)
 *     four messages already padded (FIPS 180-4 §5.1.1) to `blocks` 64-byte blocks each, at
 *     p0..p3; writes their digests to o0..o3.
 *   hashNodes(src, count, dst)
 *     for j < count: dst[32j..] = SHA-256(0x01 ‖ src[64j .. 64j+64]), the interior node over
 *     two adjacent child hashes. Works in groups of four: lanes past `count` hash whatever
 *     follows and their digests are written too, so the caller leaves room for a whole group.
 *     Reads the byte before src and up to 3 bytes past the last pair (ignored).
 *
 * The text is built here and assembled by wabt (a dev dependency); the binary is committed
 * as base64 so that the runtime needs neither. `npm test` checks that regenerating gives the
 * committed copy (test/merkle/sha256x4.test.ts); a wabt release that encodes the same text
 * differently fails that check until the copy is regenerated (and re-tested) on purpose.
 *
 * Usage: node tools/sha256x4/generate.mjs [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

/** FIPS 180-4 §4.2.2 round constants. */
const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
];
/** FIPS 180-4 §5.3.3 initial hash value. */
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const STATE = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
/** Byte order of each 32-bit lane reversed (SHA-256 words are big-endian). */
const BSWAP = '(v128.const i8x16 3 2 1 0 7 6 5 4 11 10 9 8 15 14 13 12)';
/** Room for the largest batch of nodes the caller asks for at once, plus slack; fixed, never grown. */
const PAGES = 32;

const hex = (v) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
const splat = (v) => `(v128.const i32x4 ${hex(v)} ${hex(v)} ${hex(v)} ${hex(v)})`;
const get = (x) => `(local.get $${x})`;
const add = (...xs) => xs.reduce((acc, x) => `(i32x4.add ${acc} ${x})`);
const xor = (...xs) => xs.reduce((acc, x) => `(v128.xor ${acc} ${x})`);
const rotr = (x, n) =>
  `(v128.or (i32x4.shr_u ${get(x)} (i32.const ${n})) (i32x4.shl ${get(x)} (i32.const ${32 - n})))`;
const shr = (x, n) => `(i32x4.shr_u ${get(x)} (i32.const ${n}))`;
const bigSigma0 = (x) => xor(rotr(x, 2), rotr(x, 13), rotr(x, 22));
const bigSigma1 = (x) => xor(rotr(x, 6), rotr(x, 11), rotr(x, 25));
const smallSigma0 = (x) => xor(rotr(x, 7), rotr(x, 18), shr(x, 3));
const smallSigma1 = (x) => xor(rotr(x, 17), rotr(x, 19), shr(x, 10));

/**
 * The 64 rounds over w0..w15 (holding W[0..15] on entry; the schedule is extended in place)
 * and the working variables a..h, which are renamed instead of moved: after round t the
 * variable that held h holds the new a, and so on; 64 is a multiple of 8, so the names line
 * up again at the end.
 */
function rounds() {
  const out = [];
  let v = STATE.slice();
  for (let t = 0; t < 64; t++) {
    const [a, b, c, d, e, f, g, h] = v;
    const w = `w${t % 16}`;
    if (t >= 16) {
      const w2 = `w${(t - 2) % 16}`;
      const w7 = `w${(t - 7) % 16}`;
      const w15 = `w${(t - 15) % 16}`;
      out.push(`(local.set $${w} ${add(get(w), smallSigma1(w2), get(w7), smallSigma0(w15))})`);
    }
    // Ch(e,f,g) = bitselect(f, g, e); Maj(a,b,c) = bitselect(b, a, a ^ c).
    out.push(
      `(local.set $t1 ${add(get(h), bigSigma1(e), `(v128.bitselect ${get(f)} ${get(g)} ${get(e)})`, splat(K[t]), get(w))})`,
    );
    out.push(
      `(local.set $t2 ${add(bigSigma0(a), `(v128.bitselect ${get(b)} ${get(a)} (v128.xor ${get(a)} ${get(c)}))`)})`,
    );
    out.push(`(local.set $${d} (i32x4.add ${get(d)} (local.get $t1)))`);
    out.push(`(local.set $${h} (i32x4.add (local.get $t1) (local.get $t2)))`);
    v = [h, a, b, c, d, e, f, g];
  }
  return out.join('\n');
}

/** One compression: save the state, run the rounds, add the saved state back. */
function compress() {
  return [
    ...STATE.map((s) => `(local.set $${s}0 ${get(s)})`),
    rounds(),
    ...STATE.map((s) => `(local.set $${s} (i32x4.add ${get(s)} ${get(`${s}0`)}))`),
  ].join('\n');
}

const locals = [
  ...STATE.map((s) => `(local $${s} v128)`),
  ...STATE.map((s) => `(local $${s}0 v128)`),
  ...Array.from({ length: 16 }, (_, i) => `(local $w${i} v128)`),
  '(local $t1 v128) (local $t2 v128)',
].join(' ');

const initState = STATE.map((s, i) => `(local.set $${s} ${splat(IV[i])})`).join('\n');

/** W[t] of four lanes: the big-endian word at offset 4t + `extra` from each lane's pointer. */
function loadWord(ptrs, offset) {
  let v = `(v128.load32_zero offset=${offset} align=1 ${get(ptrs[0])})`;
  for (let l = 1; l < 4; l++) v = `(v128.load32_lane offset=${offset} align=1 ${l} ${get(ptrs[l])} ${v})`;
  return `(i8x16.swizzle ${v} ${BSWAP})`;
}

/** Writes the digest of lane l to outExprs[l] (state words byte-swapped once, stored per lane). */
function storeDigests(outExprs) {
  const lines = [];
  for (let i = 0; i < 8; i++) {
    lines.push(`(local.set $t1 (i8x16.swizzle ${get(STATE[i])} ${BSWAP}))`);
    for (let l = 0; l < 4; l++)
      lines.push(`(v128.store32_lane offset=${4 * i} align=1 ${l} ${outExprs[l]} (local.get $t1))`);
  }
  return lines.join('\n');
}

function hashPadded4() {
  const ptrs = ['p0', 'p1', 'p2', 'p3'];
  return `
(func (export "hashPadded4") (param $p0 i32) (param $p1 i32) (param $p2 i32) (param $p3 i32) (param $n i32) (param $o0 i32) (param $o1 i32) (param $o2 i32) (param $o3 i32)
  ${locals}
  ${initState}
  (block $done (loop $blocks
    (br_if $done (i32.eqz (local.get $n)))
    ${Array.from({ length: 16 }, (_, t) => `(local.set $w${t} ${loadWord(ptrs, 4 * t)})`).join('\n')}
    ${compress()}
    ${ptrs.map((p) => `(local.set $${p} (i32.add (local.get $${p}) (i32.const 64)))`).join('\n')}
    (local.set $n (i32.sub (local.get $n) (i32.const 1)))
    (br $blocks)))
  ${storeDigests(['o0', 'o1', 'o2', 'o3'].map(get))})`;
}

function hashNodes() {
  const ptrs = ['p0', 'p1', 'p2', 'p3'];
  // Lane l of group q hashes 0x01 ‖ src[64(4q+l) ..]: its 65-byte message starts one byte
  // before the pair, so word t is the 4 bytes at p_l + 4t with p_l = src + 64(4q+l) - 1, and
  // word 0's first byte is replaced by the 0x01 prefix.
  const block1 = [
    ...Array.from({ length: 16 }, (_, t) => `(local.set $w${t} ${loadWord(ptrs, 4 * t)})`),
    `(local.set $w0 (v128.or (v128.and (local.get $w0) ${splat(0x00ffffff)}) ${splat(0x01000000)}))`,
  ].join('\n');
  // Block 2: the pair's last byte, the 0x80 terminator, zeros, and the length, 65 × 8 = 520 bits.
  const block2 = [
    `(local.set $w0 (v128.or (v128.and ${loadWord(ptrs, 64)} ${splat(0xff000000)}) ${splat(0x00800000)}))`,
    ...Array.from({ length: 14 }, (_, t) => `(local.set $w${t + 1} (v128.const i32x4 0 0 0 0))`),
    `(local.set $w15 ${splat(520)})`,
  ].join('\n');
  return `
(func (export "hashNodes") (param $src i32) (param $count i32) (param $dst i32)
  (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
  ${locals}
  (local.set $p0 (i32.sub (local.get $src) (i32.const 1)))
  (block $done (loop $groups
    (br_if $done (i32.le_s (local.get $count) (i32.const 0)))
    (local.set $p1 (i32.add (local.get $p0) (i32.const 64)))
    (local.set $p2 (i32.add (local.get $p0) (i32.const 128)))
    (local.set $p3 (i32.add (local.get $p0) (i32.const 192)))
    ${initState}
    ${block1}
    ${compress()}
    ${block2}
    ${compress()}
    ${storeDigests([0, 32, 64, 96].map((o) => `(i32.add (local.get $dst) (i32.const ${o}))`))}
    (local.set $p0 (i32.add (local.get $p0) (i32.const 256)))
    (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
    (local.set $count (i32.sub (local.get $count) (i32.const 4)))
    (br $groups)))
)`;
}

export function wat() {
  return `(module\n(memory (export "memory") ${PAGES} ${PAGES})\n${hashPadded4()}\n${hashNodes()}\n)\n`;
}

export async function assemble() {
  const wabt = await wabtInit();
  const mod = wabt.parseWat('sha256x4.wat', wat(), { simd: true });
  mod.validate();
  const { buffer } = mod.toBinary({});
  mod.destroy();
  return Buffer.from(buffer);
}

export function tsModule(binary) {
  const b64 = binary.toString('base64');
  const lines = b64.match(/.{1,100}/g) ?? [];
  return `// Generated by tools/sha256x4/generate.mjs from its WebAssembly text; do not edit.
// ${binary.length} bytes; four SHA-256 lanes in 128-bit SIMD (see the generator for the exports).
export const SHA256X4_WASM_PAGES = ${PAGES};
export const SHA256X4_WASM_BASE64 =
${lines.map((l) => `  '${l}'`).join(' +\n')};
`;
}

const target = fileURLToPath(new URL('../../src/merkle/sha256x4-wasm.ts', import.meta.url));
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = tsModule(await assemble());
  if (process.argv.includes('--check')) {
    if (readFileSync(target, 'utf8') !== text) {
      console.error(`${target} is stale: run node tools/sha256x4/generate.mjs`);
      process.exit(1);
    }
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
  }
}

/**
 * Strict encodings shared by the note formats. Browser-safe: no Buffer, no node: imports.
 *
 * Base64 is the standard alphabet with padding (RFC 4648 section 4), canonical only: the padding
 * must be present and the unused trailing bits must be zero, so every byte string has exactly
 * one accepted encoding.
 */
import { AuditlogError, type ErrorCode } from '../errors.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Encodes bytes as padded standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + B64[(n >>> 6) & 63]! + B64[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += `${B64[n >>> 18]!}${B64[(n >>> 12) & 63]!}==`;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += `${B64[n >>> 18]!}${B64[(n >>> 12) & 63]!}${B64[(n >>> 6) & 63]!}=`;
  }
  return out;
}

/**
 * Decodes canonical padded standard base64.
 * @throws AuditlogError(code) on any other alphabet, missing or extra padding, or non-zero trailing bits.
 */
export function decodeBase64(s: string, code: ErrorCode = 'BAD_REQUEST', what = 'base64'): Uint8Array {
  if (s.length % 4 !== 0) throw new AuditlogError(code, `${what}: length not a multiple of 4`);
  let pad = 0;
  if (s.endsWith('==')) pad = 2;
  else if (s.endsWith('=')) pad = 1;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const last = i + 4 === s.length;
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = s.charCodeAt(i + j);
      let v: number;
      if (c === 61 /* = */ && last && j >= 4 - pad) v = 0;
      else v = c < 128 ? B64_INDEX[c]! : -1;
      if (v < 0) throw new AuditlogError(code, `${what}: invalid character at ${i + j}`);
      n = (n << 6) | v;
    }
    out[o++] = n >>> 16;
    if (o < out.length) out[o++] = (n >>> 8) & 255;
    else if ((n & 0xffff) !== 0) throw new AuditlogError(code, `${what}: non-canonical trailing bits`);
    if (o < out.length) out[o++] = n & 255;
    else if ((n & 0xff) !== 0) throw new AuditlogError(code, `${what}: non-canonical trailing bits`);
  }
  return out;
}

/** Encodes bytes as lowercase hex. */
export function encodeHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/**
 * Decodes lowercase hex of exactly `length` bytes (any length when omitted).
 * @throws AuditlogError(code) on uppercase, odd length, wrong length or other characters.
 */
export function decodeHex(
  s: string,
  length?: number,
  code: ErrorCode = 'BAD_REQUEST',
  what = 'hex',
): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(s)) throw new AuditlogError(code, `${what}: not lowercase hex`);
  if (length !== undefined && s.length !== length * 2) {
    throw new AuditlogError(code, `${what}: want ${length} bytes`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Constant-shape byte comparison (not secret-safe; for public values). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Encodes a string as UTF-8. Lone surrogates become U+FFFD; callers that care validate first. */
export function utf8(s: string): Uint8Array {
  return UTF8_ENCODER.encode(s);
}

/**
 * Decodes strict UTF-8 (no replacement characters are invented, a BOM is kept as text).
 * @throws AuditlogError(code) on invalid UTF-8.
 */
export function fromUtf8(bytes: Uint8Array, code: ErrorCode = 'BAD_REQUEST'): string {
  try {
    return UTF8_DECODER.decode(bytes);
  } catch (cause) {
    throw new AuditlogError(code, 'invalid UTF-8', { cause });
  }
}

/** True when the string contains a lone surrogate (it cannot be encoded as UTF-8). */
export function hasLoneSurrogate(s: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

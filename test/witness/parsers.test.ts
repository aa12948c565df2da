/** The witness's parsers on well-formed and malformed input: flags, wire formats, peer views. */
import { describe, expect, it } from 'vitest';
import { formatVerifierKey, SIG_TYPE_COSIGNATURE_V1 } from '../../src/note/keys.js';
import {
  parseBaseUrl,
  parseLogFlag,
  parseMs,
  parsePinFile,
  parsePinFlag,
  parseWebhookUrl,
  parseWitnessFlag,
} from '../../src/witness/config.js';
import { parsePeerViews } from '../../src/witness/gossip.js';
import {
  formatAddCheckpoint,
  MAX_ADD_CHECKPOINT_BYTES,
  parseAddCheckpoint,
  parseTlogSize,
  readCosignature,
} from '../../src/witness/wire.js';
import { cosign } from '../../src/note/cosignature.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { encodeBase64 } from '../../src/note/encoding.js';
import { formatSignatureLine, parseNote } from '../../src/note/note.js';
import { ed25519Signer } from '../../src/note/signer.js';
import { FakeLog } from './fake-log.js';
import { codeOf } from '../helpers/errors.js';

const logVkey = FakeLog.create('example.com/log').vkey;
const wSigner = ed25519Signer('witness.example/w', new Uint8Array(32).fill(7));
const wVkey = formatVerifierKey(wSigner.name, wSigner.publicKey, SIG_TYPE_COSIGNATURE_V1);

describe('--log VKEY[=URL]', () => {
  it('parses a key alone and a key with a URL (which may contain "=")', () => {
    expect(parseLogFlag(logVkey).url).toBeUndefined();
    const r = parseLogFlag(`${logVkey}=http://127.0.0.1:8080/a=b/`);
    expect(r.key.name).toBe('example.com/log');
    expect(r.url).toBe('http://127.0.0.1:8080/a=b');
  });
  it.each([
    ['empty', ''],
    ['no plus', 'example.com/log'],
    ['truncated key', logVkey.slice(0, -1)],
    ['junk after key', `${logVkey}x`],
    ['witness key', wVkey],
    ['ftp URL', `${logVkey}=ftp://example.com`],
    ['relative URL', `${logVkey}=example.com`],
    ['URL with query', `${logVkey}=http://example.com/?a=1`],
    ['URL with credentials', `${logVkey}=http://u:p@example.com`],
  ])('rejects %s', (_, s) => {
    expect(codeOf(() => parseLogFlag(s))).toBe('BAD_REQUEST');
  });
});

describe('--witness URL=VKEY', () => {
  it('parses', () => {
    const r = parseWitnessFlag(`http://127.0.0.1:7380/=x=${wVkey}`);
    expect(r.url).toBe('http://127.0.0.1:7380/=x');
    expect(r.key.type).toBe(SIG_TYPE_COSIGNATURE_V1);
  });
  it.each([
    ['no key', 'http://127.0.0.1:7380'],
    ['log key', `http://127.0.0.1:7380=${logVkey}`],
    ['no URL', `=${wVkey}`],
    ['bad key id', `http://h=${wVkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')}`],
  ])('rejects %s', (_, s) => {
    expect(codeOf(() => parseWitnessFlag(s))).toBe('BAD_REQUEST');
  });
});

describe('URLs and numbers', () => {
  it('checks base URLs, webhooks and ms', () => {
    expect(parseBaseUrl('https://w.example/')).toBe('https://w.example');
    expect(codeOf(() => parseBaseUrl('https://w.example/#f'))).toBe('BAD_REQUEST');
    expect(parseWebhookUrl('https://hooks.example/x?token=1')).toBe('https://hooks.example/x?token=1');
    expect(codeOf(() => parseWebhookUrl('file:///etc/passwd'))).toBe('BAD_REQUEST');
    expect(codeOf(() => parseWebhookUrl('not a url'))).toBe('BAD_REQUEST');
    expect(parseMs(undefined, 5, 'x')).toBe(5);
    expect(parseMs('250', 5, 'x')).toBe(250);
    for (const bad of ['0', '-1', '1.5', '01', '', '99999999999'])
      expect(codeOf(() => parseMs(bad, 5, 'x'))).toBe('BAD_REQUEST');
  });
});

describe('add-checkpoint body', () => {
  it('round-trips', async () => {
    const log = FakeLog.create('example.com/log').grow(5);
    const req = { oldSize: 3n, proof: await log.proof(3, 5), note: await log.checkpoint(5) };
    const back = parseAddCheckpoint(formatAddCheckpoint(req));
    expect(back).toEqual(req);
  });
  it.each([
    ['empty', ''],
    ['no blank line', 'old 0\n'],
    ['no checkpoint', 'old 0\n\n'],
    ['old with plus', 'old +1\n\nx\n'],
    ['old hex', 'old 0x1\n\nx\n'],
    ['old with trailing space', 'old 1 \n\nx\n'],
    ['CRLF', 'old 1\r\n\r\nx\n'],
    ['proof with padding wrong', `old 1\n${'A'.repeat(43)}\n\nx\n`],
    ['proof non-canonical bits', `old 1\n${'A'.repeat(42)}B=\n\nx\n`],
    ['too large', `old 0\n\n${'x'.repeat(MAX_ADD_CHECKPOINT_BYTES)}`],
  ])('rejects %s', (_, s) => {
    expect(codeOf(() => parseAddCheckpoint(s))).toBe('BAD_REQUEST');
  });
});

describe('text/x.tlog.size', () => {
  it('parses canonical sizes only', () => {
    expect(parseTlogSize('0\n')).toBe(0n);
    expect(parseTlogSize('18446744073709551615\n')).toBe(2n ** 64n - 1n);
    for (const bad of ['', '1', '01\n', '1\n\n', ' 1\n', '-1\n', '18446744073709551616\n', 'x\n']) {
      expect(codeOf(() => parseTlogSize(bad))).toBe('BAD_REQUEST');
    }
  });
});

describe('a witness answer', () => {
  it('verifies the right cosignature and rejects others', async () => {
    const log = FakeLog.create('example.com/log').grow(2);
    const note = await log.checkpoint(2);
    const text = parseNote(note).text;
    const sig = await cosign(text, wSigner, 1700000000n);
    const key = parseVerifierKey(wVkey);
    expect(readCosignature(note, formatSignatureLine(sig), key).signature).toEqual(sig.signature);
    const other = await cosign(text, ed25519Signer('witness.example/w', new Uint8Array(32).fill(8)), 1n);
    expect(codeOf(() => readCosignature(note, formatSignatureLine(other), key))).toBe('UNKNOWN_KEY');
    const tampered = { ...sig, signature: sig.signature.slice() };
    tampered.signature[70]! ^= 1;
    expect(codeOf(() => readCosignature(note, formatSignatureLine(tampered), key))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => readCosignature(note, 'hello\n', key))).toBe('BAD_NOTE');
    expect(codeOf(() => readCosignature(note, '', key))).toBe('BAD_NOTE');
  });
});

describe('peer views', () => {
  it('parses the documented shape', () => {
    expect(parsePeerViews('{"witness":"w","checkpoints":[{"origin":"o","checkpoint":"c"}]}')).toEqual({
      views: [{ origin: 'o', checkpoint: 'c' }],
      skipped: 0,
    });
  });
  it.each([
    ['not JSON', '{'],
    ['no list', '{}'],
    ['list not array', '{"checkpoints":{}}'],
    [
      'too many',
      JSON.stringify({ checkpoints: Array.from({ length: 1001 }, () => ({ origin: 'o', checkpoint: 'c' })) }),
    ],
  ])('rejects %s', (_, s) => {
    expect(codeOf(() => parsePeerViews(s))).toBe('BAD_REQUEST');
  });
  it.each([
    ['missing field', { origin: 'o' }],
    ['extra field', { origin: 'o', checkpoint: 'c', x: 1 }],
    ['empty origin', { origin: '', checkpoint: 'c' }],
    ['number', { origin: 1, checkpoint: 'c' }],
    ['checkpoint too large', { origin: 'o', checkpoint: 'c'.repeat(128 * 1024 + 1) }],
  ])('skips an item with %s and keeps the others', (_, bad) => {
    const good = { origin: 'p', checkpoint: 'c' };
    const r = parsePeerViews(JSON.stringify({ checkpoints: [good, bad, good] }));
    expect(r.views).toEqual([good, good]);
    expect(r.skipped).toBe(1);
    expect(r.problem).toMatch(/^item 1: /);
  });
});

describe('--pin ORIGIN:SIZE:ROOT and --pin-checkpoint', () => {
  const root = encodeBase64(new Uint8Array(32).fill(3));
  it('parses from the right, so the origin may contain ":"', () => {
    const p = parsePinFlag(`example.com:8443/log:12:${root}`);
    expect([p.origin, p.size, encodeBase64(p.root), p.note]).toEqual([
      'example.com:8443/log',
      12n,
      root,
      undefined,
    ]);
  });
  it.each([
    ['no-size', `example.com/log:${root}`],
    ['empty-origin', `:12:${root}`],
    ['size-zero', `example.com/log:0:${root}`],
    ['size-leading-zero', `example.com/log:012:${root}`],
    ['size-negative', `example.com/log:-1:${root}`],
    ['size-over-uint64', `example.com/log:18446744073709551616:${root}`],
    ['root-31-bytes', `example.com/log:12:${encodeBase64(new Uint8Array(31))}`],
    ['root-unpadded', `example.com/log:12:${root.slice(0, -1)}`],
    ['root-hex', `example.com/log:12:${'00'.repeat(32)}`],
  ])('rejects %s', (_, s) => {
    expect(codeOf(() => parsePinFlag(s))).toBe('BAD_REQUEST');
  });
  it('reads a signed checkpoint file and keeps the note verbatim', async () => {
    const log = FakeLog.create('example.com/log').grow(4);
    const note = await log.checkpoint(4);
    const p = parsePinFile(note);
    expect([p.origin, p.size, p.root, p.note]).toEqual(['example.com/log', 4n, log.root(4), note]);
    expect(codeOf(() => parsePinFile(parseNote(note).text))).toBe('BAD_NOTE');
    expect(codeOf(() => parsePinFile(note.replace('\n4\n', '\n04\n')))).toBe('BAD_CHECKPOINT');
    expect(codeOf(() => parsePinFile(note.replace('\n4\n', '\n0\n')))).toBe('BAD_CHECKPOINT');
  });
});

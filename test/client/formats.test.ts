import { describe, expect, test } from 'vitest';
import { parsePolicy, quorumSatisfied } from '../../src/client/policy.js';
import { parseReceipt, parseReceiptText, receiptToJSON } from '../../src/client/receipt.js';
import {
  formatTlogProof,
  parseTlogProof,
  receiptFromTlogProof,
  receiptToTlogProof,
  TLOG_PROOF_HEADER,
} from '../../src/client/tlog-proof.js';
import { verifyReceipt } from '../../src/client/verify.js';
import { encodeBase64 } from '../../src/note/encoding.js';
import { codeOf, MemoryLog, te, Witness } from './fixtures.js';

const log = new MemoryLog();
for (let i = 0; i < 10; i++) log.append(te.encode(`e${i}`));
const w = [new Witness('a.example'), new Witness('b.example'), new Witness('c.example')];

describe('tlog-proof', () => {
  test('round trip through a receipt, verified; the entry travels as extra data', async () => {
    const r = await log.receipt(6n, 10n, [w[0]!]);
    const text = formatTlogProof(receiptToTlogProof(r));
    expect(text.startsWith(`${TLOG_PROOF_HEADER}\nextra ${encodeBase64(r.entry!)}\nindex 6\n`)).toBe(true);
    expect(text.endsWith(r.checkpoint)).toBe(true);
    const back = receiptFromTlogProof(parseTlogProof(text));
    expect(back).toEqual(r);
    verifyReceipt(back, log.vkey);
    expect(formatTlogProof(parseTlogProof(text))).toBe(text);
  });

  test('without extra data the entry must be supplied', async () => {
    const r = await log.receipt(0n, 1n);
    const text = formatTlogProof({ ...receiptToTlogProof(r), extra: undefined });
    const p = parseTlogProof(text);
    expect(p.inclusionProof).toEqual([]);
    expect(codeOf(() => receiptFromTlogProof(p))).toBe('BAD_PROOF');
    verifyReceipt(receiptFromTlogProof(p, te.encode('e0')), log.vkey);
    expect(codeOf(() => verifyReceipt(receiptFromTlogProof(p, te.encode('e1')), log.vkey))).toBe(
      'ROOT_MISMATCH',
    );
  });

  test('the C2SP example shape parses (index, five hashes, checkpoint with cosignatures)', () => {
    const h = encodeBase64(new Uint8Array(32).fill(7));
    const text = `${TLOG_PROOF_HEADER}\nextra YWdl\nindex 73894\n${`${h}\n`.repeat(5)}\nexample.com/fancylog\n109482\n${h}\n\n— example.com/fancylog AAAAAAA=\n— witness1.example AAAAAAA=\n`;
    const p = parseTlogProof(text);
    expect(p.index).toBe(73894n);
    expect(p.inclusionProof).toHaveLength(5);
  });

  const good = `${TLOG_PROOF_HEADER}\nindex 1\n${encodeBase64(new Uint8Array(32))}\n\no\n2\n${encodeBase64(new Uint8Array(32))}\n\n— o AAAAAAA=\n`;
  const malformed: [string, string][] = [
    ['wrong header', good.replace('tlog-proof@v1', 'tlog-proof@v2')],
    ['no empty line', good.replace('\n\no\n', '\no\n')],
    ['index leading zero', good.replace('index 1', 'index 01')],
    ['index negative', good.replace('index 1', 'index -1')],
    ['index missing', good.replace('index 1\n', '')],
    ['index with two spaces', good.replace('index 1', 'index  1')],
    ['extra after index', good.replace('index 1\n', 'index 1\nextra AA==\n')],
    ['extra not base64', good.replace('index 1', 'extra !!\nindex 1')],
    ['short hash', good.replace(encodeBase64(new Uint8Array(32)), encodeBase64(new Uint8Array(31)))],
    [
      'unpadded hash',
      good.replace(
        `${encodeBase64(new Uint8Array(32))}\n\n`,
        `${encodeBase64(new Uint8Array(32)).slice(0, -1)}\n\n`,
      ),
    ],
    ['checkpoint not a note', good.replace('— o AAAAAAA=\n', '')],
    ['CRLF', good.replaceAll('\n', '\r\n')],
    ['too large', `${good}${'x'.repeat(600 * 1024)}`],
  ];
  test.each(malformed)('rejects tlog-proof: %s', (_, text) => {
    expect(codeOf(() => parseTlogProof(text))).toBe('BAD_PROOF');
  });
});

describe('receipt JSON', () => {
  test('round trip with every optional field; big numbers as strings', async () => {
    const r = { ...(await log.receipt(3n, 10n)), recordId: 'rec_1' };
    expect(parseReceipt(receiptToJSON(r))).toEqual(r);
    const big = { ...r, index: 2n ** 60n, treeSize: 2n ** 64n - 1n };
    const j = receiptToJSON(big);
    expect(j.index).toBe('1152921504606846976');
    expect(parseReceipt(JSON.parse(JSON.stringify(j)))).toEqual(big);
  });

  const base = {
    origin: 'o',
    index: 0,
    tree_size: 1,
    leaf_hash: encodeBase64(new Uint8Array(32)),
    inclusion_proof: [],
    checkpoint: 'c',
  };
  const malformed: [string, unknown][] = [
    ['not an object', []],
    ['null', null],
    ['missing origin', { ...base, origin: undefined }],
    ['index float', { ...base, index: 1.5 }],
    ['index negative', { ...base, index: -1 }],
    ['index unsafe number', { ...base, index: 2 ** 60 }],
    ['index string leading zero', { ...base, index: '01' }],
    ['tree size 2^64', { ...base, tree_size: '18446744073709551616' }],
    ['leaf hash short', { ...base, leaf_hash: encodeBase64(new Uint8Array(31)) }],
    ['leaf hash hex', { ...base, leaf_hash: '00'.repeat(32) }],
    ['proof not a list', { ...base, inclusion_proof: 'x' }],
    ['proof hash not a string', { ...base, inclusion_proof: [1] }],
    ['proof too long', { ...base, inclusion_proof: new Array(65).fill(base.leaf_hash) }],
    ['unknown field', { ...base, entyr: 'AA==' }],
    ['entry not base64', { ...base, entry: 'A' }],
    ['upgrade unknown field', { ...base, upgrade: { checkpoint: 'c', consistency_proof: [], x: 1 } }],
    ['upgrade without proof', { ...base, upgrade: { checkpoint: 'c' } }],
  ];
  test.each(malformed)('rejects receipt: %s', (_, json) => {
    expect(codeOf(() => parseReceipt(json))).toBe('BAD_REQUEST');
  });

  test('server answers may carry extra fields', () => {
    expect(parseReceipt({ ...base, integrated_time: 5 }, { allowUnknown: true }).origin).toBe('o');
    expect(codeOf(() => parseReceiptText('{'))).toBe('BAD_REQUEST');
  });
});

describe('tlog-policy', () => {
  const [a, b, c] = w as [Witness, Witness, Witness];
  test('parses the spec example structure (comments, blank lines, tabs, URLs)', () => {
    const p = parsePolicy(
      [
        '# example',
        `log ${log.vkey} https://log.example/`,
        '',
        `  witness X1 ${a.vkey}`,
        `witness\tX2 ${b.vkey} https://w.example/`,
        `witness X3 ${c.vkey}`,
        'group X-witnesses 2 X1 X2 X3',
        'group top all X-witnesses',
        'quorum top',
      ].join('\n'),
    );
    expect(p.logs[0]!.url).toBe('https://log.example/');
    expect(p.groups.get('X-witnesses')!.threshold).toBe(2);
    expect(quorumSatisfied(p, new Set(['X1', 'X3']))).toBe(true);
    expect(quorumSatisfied(p, new Set(['X2']))).toBe(false);
    expect(parsePolicy('quorum none\n').quorum).toBe('none');
  });

  test('quorum evaluation is linear even with shared subgroups', () => {
    const lines = [`witness W ${a.vkey}`, 'group g0 any W'];
    for (let i = 1; i < 200; i++) lines.push(`group g${i} all g${i - 1}`);
    lines.push('group top any g199', 'quorum top');
    const p = parsePolicy(lines.join('\n'));
    expect(quorumSatisfied(p, new Set(['W']))).toBe(true);
    expect(quorumSatisfied(p, new Set())).toBe(false);
  });

  const W = `witness A ${a.vkey}\nwitness B ${b.vkey}\n`;
  const malformed: [string, string][] = [
    ['empty', ''],
    ['no quorum', W],
    ['two quorums', `${W}quorum A\nquorum B\n`],
    ['quorum undefined', `${W}quorum C\n`],
    ['quorum before definition', `quorum A\n${W}`],
    ['unknown keyword', `${W}witnes C ${c.vkey}\nquorum A\n`],
    ['log key of type 0x04', `log ${a.vkey}\nquorum none\n`],
    ['witness key of type 0x01', `witness L ${log.vkey}\nquorum none\n`],
    ['bad vkey', `witness A x+00000000+AAAA\nquorum none\n`],
    ['duplicate witness key', `${W}witness C ${a.vkey}\nquorum none\n`],
    ['duplicate log key', `log ${log.vkey}\nlog ${log.vkey}\nquorum none\n`],
    ['redefined name', `${W}group A any B\nquorum none\n`],
    ['none as a name', `witness none ${c.vkey}\nquorum none\n`],
    ['none as a member', `${W}group g any A none\nquorum g\n`],
    ['member undefined', `${W}group g any A C\nquorum g\n`],
    ['member twice', `${W}group g any A A\nquorum g\n`],
    ['threshold zero', `${W}group g 0 A B\nquorum g\n`],
    ['threshold above n', `${W}group g 3 A B\nquorum g\n`],
    ['threshold leading zero', `${W}group g 01 A B\nquorum g\n`],
    ['group without members', `${W}group g any\nquorum g\n`],
    ['carriage return', `${W}quorum A\r\n`],
    ['extra argument', `${W}quorum A B\n`],
  ];
  test.each(malformed)('rejects policy: %s', (_, text) => {
    expect(codeOf(() => parsePolicy(text))).toBe('BAD_REQUEST');
  });
});

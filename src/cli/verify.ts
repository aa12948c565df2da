/**
 * `auditlog verify RECEIPT --vkey VKEY [--policy FILE] [--entry FILE] [--log URL] [--out FILE]`:
 * verifies offline, with the log's verifier key, a receipt JSON, a .tlog-proof file, or a whole
 * receipt file (JSON lines, as the SDK's ReceiptFile writes). With --log, also proves that each
 * receipt's checkpoint is consistent with the log's current one, and --out saves the receipts
 * upgraded to it (one JSON, or JSON lines for a receipt file). Exit 0 when everything is valid, 1
 * with one line saying what failed (and, for a receipt file, which line), 2 on usage errors.
 */
import {
  loadPolicy,
  loadReceipts,
  loadVerifierKey,
  readInputFile,
  checkOutputPath,
  writeFileDurably,
} from '../client/inputs.js';
import { LogClient } from '../client/log-client.js';
import { type Receipt, receiptToJSON } from '../client/receipt.js';
import { logsOnly, type VerifiedReceipt, verifyReceipt } from '../client/verify.js';
import { AuditlogError } from '../errors.js';
import { encodeHex } from '../note/encoding.js';
import { ClientCommand, TOKEN_FLAGS, TOKEN_USAGE } from './client-command.js';

const USAGE = `usage: auditlog verify RECEIPT|RECEIPTS.jsonl --vkey VKEY [--policy FILE] [--entry FILE] [--log URL [--out FILE] ${TOKEN_USAGE}]`;

/** The error to report for receipt i: prefixed with its line number when there are several. */
function located(many: boolean, i: number, err: unknown): unknown {
  if (!many || !(err instanceof AuditlogError)) return err;
  return new AuditlogError(err.code, `receipt ${i + 1}: ${err.message}`, { cause: err });
}

/** Runs `f` for receipt i, prefixing a failure with its line when there are several. */
function at<T>(many: boolean, i: number, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw located(many, i, err);
  }
}

function summary(receipts: Receipt[], verified: VerifiedReceipt[]): string[] {
  const v = verified[0]!;
  if (verified.length === 1) {
    const parts = [
      `OK: entry ${v.index} (leaf hash ${encodeHex(v.leafHash)}) is in log ${v.checkpoint.origin} at tree size ${v.checkpoint.size}`,
      `checkpoint signed by ${v.latest.logKey.name}`,
    ];
    if (receipts[0]!.entry === undefined)
      parts.push('entry bytes not checked (none kept; pass --entry FILE)');
    if (receipts[0]!.upgrade) parts.push(`upgraded to tree size ${v.latest.checkpoint.size}`);
    if (v.latest.cosigners.length > 0) parts.push(`witnesses: ${v.latest.cosigners.join(', ')}`);
    return parts;
  }
  const sizes = verified.map((x) => x.latest.checkpoint.size);
  const min = sizes.reduce((a, b) => (a < b ? a : b));
  const max = sizes.reduce((a, b) => (a > b ? a : b));
  const unchecked = receipts.filter((r) => r.entry === undefined).length;
  const parts = [
    `OK: ${verified.length} receipts are in log ${v.checkpoint.origin}`,
    `newest checkpoints of tree sizes ${min === max ? `${min}` : `${min} to ${max}`}, signed by ${v.latest.logKey.name}`,
  ];
  if (unchecked > 0) parts.push(`${unchecked} without entry bytes (leaf hashes only)`);
  return parts;
}

const cmd = new ClientCommand('verify', USAGE);

export async function run(argv: string[]): Promise<number> {
  const args = cmd.parse(
    argv,
    {
      vkey: { type: 'string' },
      policy: { type: 'string' },
      entry: { type: 'string' },
      log: { type: 'string' },
      out: { type: 'string' },
      ...TOKEN_FLAGS,
    },
    true,
  );
  if (typeof args === 'number') return args;
  const { values, positionals } = args;
  if (positionals.length !== 1 || (typeof values.vkey !== 'string' && typeof values.policy !== 'string'))
    return cmd.usageError('one RECEIPT and --vkey (or a --policy with a log line) are required');
  if (typeof values.out === 'string' && typeof values.log !== 'string')
    return cmd.usageError('--out needs --log (it saves the upgraded receipts)', false);
  return cmd.run(
    async (use) => {
      if (typeof values.out === 'string') await checkOutputPath(values.out);
      const vkey = typeof values.vkey === 'string' ? await loadVerifierKey(values.vkey) : null;
      const policy = typeof values.policy === 'string' ? await loadPolicy(values.policy) : undefined;
      const entry = typeof values.entry === 'string' ? await readInputFile(values.entry) : undefined;
      const receipts = await loadReceipts(positionals[0]!, entry);
      if (receipts.length === 0)
        throw new AuditlogError('BAD_REQUEST', `${positionals[0]} holds no receipts`);
      const many = receipts.length > 1;
      const opts = policy ? { policy } : {};
      // With --log the quorum is asked of the checkpoint the receipts are upgraded to, not of
      // theirs: a receipt issued before its witnesses cosigned is what an upgrade is for.
      const upgrading = typeof values.log === 'string';
      const firstOpts = upgrading && policy ? { policy: logsOnly(policy)! } : opts;
      const verified = receipts.map((r, i) => at(many, i, () => verifyReceipt(r, vkey, firstOpts)));
      const parts = summary(receipts, verified);
      if (typeof values.log === 'string') {
        const logKey = verified[0]!.latest.logKey;
        const token = await cmd.token(values);
        const client = use(new LogClient(values.log, { vkey: logKey, ...opts, ...(token ? { token } : {}) }));
        const upgraded: Receipt[] = [];
        for (const [i, r] of receipts.entries()) {
          try {
            upgraded.push(await client.upgrade(r));
          } catch (err) {
            throw located(many, i, err);
          }
        }
        const latest = upgraded.map((u, i) => at(many, i, () => verifyReceipt(u, logKey, opts)))[0]!.latest;
        parts.push(`consistent with the log's current checkpoint (tree size ${latest.checkpoint.size})`);
        if (policy && latest.cosigners.length > 0) parts.push(`witnesses: ${latest.cosigners.join(', ')}`);
        if (typeof values.out === 'string') {
          const text = many
            ? upgraded.map((u) => `${JSON.stringify(receiptToJSON(u))}\n`).join('')
            : `${JSON.stringify(receiptToJSON(upgraded[0]!), null, 2)}\n`;
          try {
            await writeFileDurably(values.out, text);
          } catch (cause) {
            throw new AuditlogError(
              'STORAGE',
              `the receipts verified and were upgraded, but saving them failed: ${(cause as Error).message}`,
              { cause },
            );
          }
        }
      }
      process.stdout.write(`${parts.join('; ')}\n`);
      return 0;
    },
    { failurePrefix: 'FAIL: ' },
  );
}

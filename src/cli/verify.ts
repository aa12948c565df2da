/**
 * `auditlog verify RECEIPT --vkey VKEY [--policy FILE] [--entry FILE] [--log URL] [--out FILE]`:
 * verifies a receipt (JSON, or a .tlog-proof file) offline with the log's verifier key. With
 * --log, also proves that the receipt's checkpoint is consistent with the log's current one, and
 * --out saves the receipt upgraded to it. Exit 0 when valid, 1 with one line saying what failed,
 * 2 on usage errors.
 */
import { parseArgs } from 'node:util';
import {
  describeFailure,
  loadPolicy,
  loadReceipt,
  loadVerifierKey,
  readInputFile,
  writeFileDurably,
} from '../client/inputs.js';
import { LogClient } from '../client/log-client.js';
import { receiptToJSON } from '../client/receipt.js';
import { verifyReceipt } from '../client/verify.js';
import { encodeHex } from '../note/encoding.js';

const USAGE =
  'usage: auditlog verify RECEIPT --vkey VKEY [--policy FILE] [--entry FILE] [--log URL] [--out FILE]';

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        vkey: { type: 'string' },
        policy: { type: 'string' },
        entry: { type: 'string' },
        log: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`auditlog verify: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1 || (typeof values.vkey !== 'string' && typeof values.policy !== 'string')) {
    process.stderr.write(
      `auditlog verify: one RECEIPT and --vkey (or a --policy with a log line) are required\n${USAGE}\n`,
    );
    return 2;
  }
  if (typeof values.out === 'string' && typeof values.log !== 'string') {
    process.stderr.write(`auditlog verify: --out needs --log (it saves the upgraded receipt)\n`);
    return 2;
  }
  let client: LogClient | undefined;
  try {
    const vkey = typeof values.vkey === 'string' ? await loadVerifierKey(values.vkey) : null;
    const policy = typeof values.policy === 'string' ? await loadPolicy(values.policy) : undefined;
    const entry = typeof values.entry === 'string' ? await readInputFile(values.entry) : undefined;
    const receipt = await loadReceipt(positionals[0]!, entry);
    const opts = policy ? { policy } : {};
    const v = verifyReceipt(receipt, vkey, opts);
    const parts = [
      `OK: entry ${v.index} (leaf hash ${encodeHex(v.leafHash)}) is in log ${v.checkpoint.origin} at tree size ${v.checkpoint.size}`,
      `checkpoint signed by ${v.latest.logKey.name}`,
    ];
    if (receipt.entry === undefined) parts.push('entry bytes not checked (none kept; pass --entry FILE)');
    if (receipt.upgrade) parts.push(`upgraded to tree size ${v.latest.checkpoint.size}`);
    if (v.latest.cosigners.length > 0) parts.push(`witnesses: ${v.latest.cosigners.join(', ')}`);
    if (typeof values.log === 'string') {
      client = new LogClient(values.log, { vkey: v.latest.logKey, ...opts });
      const upgraded = await client.upgrade(receipt);
      const now = verifyReceipt(upgraded, v.latest.logKey, opts).latest;
      parts.push(`consistent with the log's current checkpoint (tree size ${now.checkpoint.size})`);
      if (typeof values.out === 'string') {
        await writeFileDurably(values.out, `${JSON.stringify(receiptToJSON(upgraded), null, 2)}\n`);
      }
    }
    process.stdout.write(`${parts.join('; ')}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`auditlog verify: FAIL: ${describeFailure(err)}\n`);
    return 1;
  } finally {
    await client?.close();
  }
}

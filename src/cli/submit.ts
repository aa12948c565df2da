/**
 * `auditlog submit --log URL [--token T] [FILE | -] [--record] [--out FILE] [--tlog-proof FILE]
 * [--vkey VKEY]`: submits raw bytes (or, with --record, a JSON audit record or
 * `{"records": [...]}`) and prints the receipt JSON. The token may come from $AUDITLOG_TOKEN instead
 * of the command line. With --vkey the receipt is verified before it is printed or saved.
 */
import { parseArgs } from 'node:util';
import { LogClient } from '../client/log-client.js';
import {
  describeFailure,
  loadVerifierKey,
  readInputFile,
  readStdin,
  writeFileDurably,
} from '../client/inputs.js';
import { type Receipt, receiptToJSON } from '../client/receipt.js';
import { formatTlogProof, receiptToTlogProof } from '../client/tlog-proof.js';
import { AuditlogError } from '../errors.js';

const USAGE =
  'usage: auditlog submit --log URL [--token T | $AUDITLOG_TOKEN] [FILE | -] [--record] [--out FILE] [--tlog-proof FILE] [--vkey VKEY]';
const MAX_INPUT = 16 * 1024 * 1024;

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        log: { type: 'string' },
        token: { type: 'string' },
        record: { type: 'boolean' },
        out: { type: 'string' },
        'tlog-proof': { type: 'string' },
        vkey: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`auditlog submit: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const token = (values.token as string | undefined) ?? process.env.AUDITLOG_TOKEN;
  if (typeof values.log !== 'string' || !token || positionals.length > 1) {
    process.stderr.write(`auditlog submit: --log and a token are required, and at most one FILE\n${USAGE}\n`);
    return 2;
  }
  let client: LogClient | undefined;
  try {
    const file = positionals[0] ?? '-';
    const input = file === '-' ? await readStdin(MAX_INPUT) : await readInputFile(file);
    const vkey = typeof values.vkey === 'string' ? await loadVerifierKey(values.vkey) : undefined;
    client = new LogClient(values.log, { token, ...(vkey ? { vkey } : {}) });
    let receipts: Receipt[];
    let batch = false;
    if (values.record) {
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(input));
      } catch (cause) {
        throw new AuditlogError('BAD_REQUEST', 'the record is not valid JSON', { cause });
      }
      if (
        typeof json === 'object' &&
        json !== null &&
        Array.isArray((json as { records?: unknown }).records)
      ) {
        batch = true;
        receipts = await client.submitRecords((json as { records: object[] }).records);
      } else {
        receipts = [await client.submitRecord(json as object)];
      }
    } else {
      receipts = [await client.submitEntry(input)];
    }
    const json = batch ? receipts.map(receiptToJSON) : receiptToJSON(receipts[0]!);
    const text = `${JSON.stringify(json, null, 2)}\n`;
    if (typeof values.out === 'string') await writeFileDurably(values.out, text);
    if (typeof values['tlog-proof'] === 'string') {
      if (batch) throw new AuditlogError('BAD_REQUEST', '--tlog-proof needs a single entry or record');
      await writeFileDurably(values['tlog-proof'], formatTlogProof(receiptToTlogProof(receipts[0]!)));
    }
    process.stdout.write(text);
    return 0;
  } catch (err) {
    process.stderr.write(`auditlog submit: ${describeFailure(err)}\n`);
    return 1;
  } finally {
    await client?.close();
  }
}

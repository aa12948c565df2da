/**
 * Child process for the receipt-file fault test: appends three receipts to FILE, the second
 * under a file-size limit (RLIMIT_FSIZE, set on itself with `prlimit --pid`) that lets it write
 * only part of its line, a real fault: the write is short, then fails with EFBIG (SIGXFSZ is
 * ignored, as a process that handles it would). The limit is lifted before the third append.
 * Prints one JSON line: what each append did (`ok`, or the error code and its cause's code).
 * Run from dist: node dist/test/client/receipt-file-child.js RECEIPTS.json FILE.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { parseReceipt } from '../../src/client/receipt.js';
import { ReceiptFile } from '../../src/client/receipt-file.js';

const [input, file] = process.argv.slice(2) as [string, string];
process.on('SIGXFSZ', () => {});
const receipts = (JSON.parse(readFileSync(input, 'utf8')) as unknown[]).map((r) => parseReceipt(r));
const limit = (v: string) => execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${v}`]);
const outcome = (p: Promise<void>) =>
  p.then(
    () => 'ok',
    (e: { code?: string; cause?: { code?: string } }) => `${e.code}/${e.cause?.code}`,
  );

const rf = await ReceiptFile.open(file);
const results: string[] = [await outcome(rf.append(receipts[0]!))];
limit(`${statSync(file).size + 100}:unlimited`);
results.push(await outcome(rf.append(receipts[1]!)));
limit('unlimited:unlimited');
results.push(await outcome(rf.append(receipts[2]!)));
await rf.close();
process.stdout.write(`${JSON.stringify(results)}\n`);

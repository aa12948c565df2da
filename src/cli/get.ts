/**
 * `auditlog get --log URL --range A:B [--vkey VKEY]`: streams entries A (inclusive) to B
 * (exclusive; `A:` means to the current tree size) as JSON lines `{"index":N,"entry":"<base64>"}`,
 * read from entry bundles and checked against the level-0 hash tiles. A progress bar goes to
 * stderr only when stderr is a terminal.
 */
import { loadVerifierKey } from '../client/inputs.js';
import { LogClient } from '../client/log-client.js';
import { AuditlogError } from '../errors.js';
import { parseCanonicalUint64, parseCheckpoint } from '../note/checkpoint.js';
import { encodeBase64 } from '../note/encoding.js';
import { parseNote } from '../note/note.js';
import { ClientCommand, TOKEN_FLAGS, TOKEN_USAGE } from './client-command.js';

const USAGE = `usage: auditlog get --log URL --range A:B [--vkey VKEY] ${TOKEN_USAGE}`;

/** Parses `A:B` or `A:`; B defaults to `size`. */
export function parseRange(s: string, size: bigint): { start: bigint; end: bigint } {
  const m = /^([0-9]+):([0-9]*)$/.exec(s);
  const start = m ? parseCanonicalUint64(m[1]!) : null;
  const end = m ? (m[2] === '' ? size : parseCanonicalUint64(m[2]!)) : null;
  if (start === null || end === null)
    throw new AuditlogError('BAD_REQUEST', '--range must be A:B (decimal, B exclusive)');
  if (start > end) throw new AuditlogError('OUT_OF_RANGE', `range ${s} is empty or reversed`);
  if (end > size) throw new AuditlogError('OUT_OF_RANGE', `range end ${end} is beyond tree size ${size}`);
  return { start, end };
}

function progress(done: bigint, total: bigint): void {
  const width = 30;
  const frac = total === 0n ? 1 : Number((done * 1000n) / total) / 1000;
  const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
  process.stderr.write(`\r[${bar}] ${done}/${total}`);
}

const cmd = new ClientCommand('get', USAGE);

export async function run(argv: string[]): Promise<number> {
  const args = cmd.parse(argv, {
    log: { type: 'string' },
    range: { type: 'string' },
    vkey: { type: 'string' },
    ...TOKEN_FLAGS,
  });
  if (typeof args === 'number') return args;
  const { values } = args;
  const { log, range } = values;
  if (typeof log !== 'string' || typeof range !== 'string')
    return cmd.usageError('--log and --range are required');
  const tty = process.stderr.isTTY === true;
  return cmd.run(
    async (use) => {
      const vkey = typeof values.vkey === 'string' ? await loadVerifierKey(values.vkey) : undefined;
      const token = await cmd.token(values);
      const client = use(new LogClient(log, { ...(vkey ? { vkey } : {}), ...(token ? { token } : {}) }));
      const size = vkey
        ? (await client.checkpoint()).checkpoint.size
        : parseCheckpoint(parseNote(await client.checkpointNote()).text).size;
      const { start, end } = parseRange(range, size);
      const total = end - start;
      const showProgress = tty && total > 256n;
      let done = 0n;
      let closed = false; // the reader went away (e.g. `| head`): stop quietly
      process.stdout.on('error', () => {
        closed = true;
      });
      for await (const { index, entry } of client.entries(start, end, size)) {
        if (closed) break;
        const line = `${JSON.stringify({ index: Number(index), entry: encodeBase64(entry) })}\n`;
        if (!process.stdout.write(line))
          await new Promise((resolve) => process.stdout.once('drain', resolve));
        done++;
        if (showProgress && (done % 256n === 0n || done === total)) progress(done, total);
      }
      if (showProgress) process.stderr.write('\n');
      return 0;
    },
    {
      // end the progress bar's line, if one may have been drawn
      beforeFailure: () => {
        if (tty) process.stderr.write('\n');
      },
    },
  );
}

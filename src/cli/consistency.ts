/**
 * `auditlog consistency --log URL --from M [--to N] [--vkey VKEY]`: prints the consistency proof
 * from tree size M to N (default: the current checkpoint's size), computed from the log's tiles,
 * and checks it: root M recomputed from tiles, root N from the signed checkpoint when N is its
 * size (verified with --vkey when given), else from tiles. Exit 0 when the proof checks, 1 if not.
 */
import { parseArgs } from 'node:util';
import { describeFailure, loadVerifierKey } from '../client/inputs.js';
import { LogClient } from '../client/log-client.js';
import { AuditlogError } from '../errors.js';
import { verifyConsistency } from '../merkle/verify.js';
import { parseCanonicalUint64, parseCheckpoint } from '../note/checkpoint.js';
import { encodeBase64 } from '../note/encoding.js';
import { parseNote } from '../note/note.js';

const USAGE = 'usage: auditlog consistency --log URL --from M [--to N] [--vkey VKEY]';

function uint(name: string, v: string): bigint {
  const n = parseCanonicalUint64(v);
  if (n === null) throw new AuditlogError('BAD_REQUEST', `--${name} must be a canonical decimal uint64`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        log: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        vkey: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`auditlog consistency: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (typeof values.log !== 'string' || typeof values.from !== 'string') {
    process.stderr.write(`auditlog consistency: --log and --from are required\n${USAGE}\n`);
    return 2;
  }
  let client: LogClient | undefined;
  try {
    const from = uint('from', values.from);
    const vkey = typeof values.vkey === 'string' ? await loadVerifierKey(values.vkey) : undefined;
    client = new LogClient(values.log, vkey ? { vkey } : {});
    let note: string;
    if (vkey) note = (await client.checkpoint()).noteText;
    else {
      note = await client.checkpointNote();
      process.stderr.write('auditlog consistency: warning: checkpoint signature not verified (no --vkey)\n');
    }
    const cp = parseCheckpoint(parseNote(note).text);
    const to = typeof values.to === 'string' ? uint('to', values.to) : cp.size;
    if (to > cp.size)
      throw new AuditlogError('OUT_OF_RANGE', `--to ${to} is beyond the checkpoint size ${cp.size}`);
    if (from > to) throw new AuditlogError('OUT_OF_RANGE', `--from ${from} is beyond --to ${to}`);
    const proof = await client.consistencyProof(from, to);
    const [root1, root2] = await Promise.all([
      client.rootAt(from, cp.size),
      to === cp.size ? cp.root : client.rootAt(to, cp.size),
    ]);
    verifyConsistency(from, to, proof, root1, root2);
    const out = {
      origin: cp.origin,
      first: Number(from),
      second: Number(to),
      first_root: encodeBase64(root1),
      second_root: encodeBase64(root2),
      consistency_proof: proof.map(encodeBase64),
      ...(to === cp.size ? { checkpoint: note } : {}),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    process.stderr.write(`auditlog consistency: OK: tree ${to} extends tree ${from}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`auditlog consistency: ${describeFailure(err)}\n`);
    return 1;
  } finally {
    await client?.close();
  }
}

/**
 * `auditlog consistency --log URL --from M [--to N] [--vkey VKEY]`: prints the consistency proof
 * from tree size M to N (default: the current checkpoint's size), computed from the log's tiles,
 * and checks it: root M recomputed from tiles, root N from the signed checkpoint when N is its
 * size (verified with --vkey when given), else from tiles. Exit 0 when the proof checks, 1 if not.
 */
import { loadVerifierKey } from '../client/inputs.js';
import { LogClient } from '../client/log-client.js';
import { AuditlogError } from '../errors.js';
import { verifyConsistency } from '../merkle/verify.js';
import { encodeBase64 } from '../note/encoding.js';
import { ClientCommand, TOKEN_FLAGS, TOKEN_USAGE, uint } from './client-command.js';

const USAGE = `usage: auditlog consistency --log URL --from M [--to N] [--vkey VKEY] ${TOKEN_USAGE}`;

const cmd = new ClientCommand('consistency', USAGE);

export async function run(argv: string[]): Promise<number> {
  const args = cmd.parse(argv, {
    log: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    vkey: { type: 'string' },
    ...TOKEN_FLAGS,
  });
  if (typeof args === 'number') return args;
  const { values } = args;
  const { log, from: fromFlag } = values;
  if (typeof log !== 'string' || typeof fromFlag !== 'string')
    return cmd.usageError('--log and --from are required');
  return cmd.run(async (use) => {
    const from = uint('from', fromFlag);
    const vkey = typeof values.vkey === 'string' ? await loadVerifierKey(values.vkey) : undefined;
    const token = await cmd.token(values);
    const client = use(new LogClient(log, { ...(vkey ? { vkey } : {}), ...(token ? { token } : {}) }));
    const { note, cp } = await cmd.checkpoint(client, vkey !== undefined);
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
    cmd.note(`OK: tree ${to} extends tree ${from}`);
    return 0;
  });
}

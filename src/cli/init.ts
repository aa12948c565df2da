/** `auditlog init --data DIR --origin ORIGIN`: creates a log and prints its verifier key. */
import { Log } from '../sequencer/log.js';
import { isLogDir } from '../storage/data-dir.js';
import { AuditlogError } from '../errors.js';
import { parseArgs } from 'node:util';
import { required } from './args.js';
import { TokenStore } from '../api/tokens.js';
import { createAdminToken } from './token.js';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { data: { type: 'string' }, origin: { type: 'string' } },
  });
  const dir = required('data', values.data);
  const origin = required('origin', values.origin);
  if (isLogDir(dir)) throw new AuditlogError('CONFLICT', `${dir} already holds a log`);
  const log = await Log.open({ dir, origin });
  try {
    const token = await createAdminToken(new TokenStore(log.db));
    process.stdout.write(
      `auditlog: origin ${log.origin}\nauditlog: vkey ${log.vkey}\nauditlog: admin token ${token}\n`,
    );
  } finally {
    await log.close();
  }
  return 0;
}

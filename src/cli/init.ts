/** `auditlog init --data DIR --origin ORIGIN`: creates a log and prints its verifier key. */
import { Log } from '../sequencer/log.js';
import { isLogDir } from '../storage/data-dir.js';
import { AuditlogError } from '../errors.js';
import { parseArgs } from 'node:util';
import { required } from './args.js';
import { TokenStore } from '../api/tokens.js';
import { createAdminToken } from './token.js';

const HELP = `usage: auditlog init --data DIR --origin ORIGIN
  creates a log in DIR (mode 0700; its signing key log.key, mode 0600) and prints its origin,
  its verifier key and its first admin token (shown once); \`serve\` does the same on a new DIR
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { data: { type: 'string' }, origin: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
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

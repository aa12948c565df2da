/**
 * `auditlog token create --data DIR --role submitter|auditor|admin [--name N] [--tenant T]`:
 * prints a new token as its last line. Works on a stopped log (LevelDB has one writer); a
 * running server creates tokens with `POST /v1/tokens` and an admin token.
 */
import { join } from 'node:path';
import { TokenStore } from '../api/tokens.js';
import { AuditlogError } from '../errors.js';
import type { Log } from '../sequencer/log.js';
import { DB_DIR, isLogDir } from '../storage/data-dir.js';
import { openLogDB } from '../storage/level-store.js';
import { parseArgs } from 'node:util';
import { required } from './args.js';

/** Creates the first admin token of a new log. */
export async function createAdminToken(log: Log): Promise<string> {
  const { token } = await new TokenStore(log.db).create({ role: 'admin', name: 'admin' });
  return token;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'create')
    throw new AuditlogError('BAD_REQUEST', 'usage: auditlog token create --data DIR --role ROLE');
  const { values } = parseArgs({
    args: rest,
    options: {
      data: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      tenant: { type: 'string' },
    },
  });
  const dir = required('data', values.data);
  if (!isLogDir(dir)) throw new AuditlogError('NOT_FOUND', `${dir} holds no log`);
  const db = await openLogDB(join(dir, DB_DIR));
  try {
    const { token, principal } = await new TokenStore(db).create({
      role: required('role', values.role),
      ...(values.name ? { name: values.name } : {}),
      ...(values.tenant ? { tenant: values.tenant } : {}),
    });
    process.stdout.write(
      `auditlog: created ${principal.role} token ${principal.name}${principal.tenant ? ` for tenant ${principal.tenant}` : ''}\n${token}\n`,
    );
  } finally {
    await db.close();
  }
  return 0;
}

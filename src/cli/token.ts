/**
 * `auditlog token create --data DIR --role submitter|auditor|admin [--name N] [--tenant T]`:
 * prints a new token as its last line.
 * `auditlog token revoke NAME --data DIR`: revokes every active token named NAME, durably,
 * refusing the last admin token without a tenant.
 * `auditlog token list --data DIR [--json]`: every token without secrets.
 * They work on a stopped log (LevelDB has one writer, so they fail while `serve` runs on DIR);
 * a running server does the same with `POST /v1/tokens`, `POST /v1/tokens/revoke` and
 * `GET /v1/tokens` and an admin token.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Principal, TokenStore } from '../api/tokens.js';
import { AuditlogError } from '../errors.js';
import { DB_DIR, isLogDir } from '../storage/data-dir.js';
import { type LogDB, openLogDB } from '../storage/level-store.js';
import { required } from './args.js';

const USAGE = `usage: auditlog token create --data DIR --role submitter|auditor|admin [--name N] [--tenant T]
       auditlog token revoke NAME --data DIR
       auditlog token list --data DIR [--json]
  works on a stopped log; a running server has POST /v1/tokens, POST /v1/tokens/revoke, GET /v1/tokens
`;

/** Creates the first admin token of a new log. */
export async function createAdminToken(tokens: TokenStore): Promise<string> {
  const { token } = await tokens.create({ role: 'admin', name: 'admin' });
  return token;
}

function describe(t: Principal): string {
  return `${t.role} token ${t.name}${t.tenant ? ` for tenant ${t.tenant}` : ''}`;
}

/** Opens DIR's database, naming the HTTP routes when a server holds it. */
async function openData(dir: string): Promise<LogDB> {
  if (!isLogDir(dir)) throw new AuditlogError('NOT_FOUND', `${dir} holds no log`);
  try {
    return await openLogDB(join(dir, DB_DIR));
  } catch (err) {
    if (err instanceof AuditlogError && err.code === 'STORAGE' && /in use/.test(err.message)) {
      throw new AuditlogError(
        'STORAGE',
        `${err.message}: stop the server first, or use POST /v1/tokens, POST /v1/tokens/revoke or GET /v1/tokens with an admin token`,
      );
    }
    throw err;
  }
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (sub !== 'create' && sub !== 'revoke' && sub !== 'list') {
    process.stderr.write(USAGE);
    return 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: sub === 'revoke',
    options: {
      data: { type: 'string' },
      ...(sub === 'create'
        ? { role: { type: 'string' }, name: { type: 'string' }, tenant: { type: 'string' } }
        : {}),
      ...(sub === 'list' ? { json: { type: 'boolean' } } : {}),
    },
  });
  const dir = required('data', values.data);
  if (sub === 'revoke' && positionals.length !== 1) {
    throw new AuditlogError('BAD_REQUEST', 'usage: auditlog token revoke NAME --data DIR');
  }
  const db = await openData(dir);
  try {
    const tokens = new TokenStore(db);
    if (sub === 'create') {
      const v = values as { role?: string; name?: string; tenant?: string };
      const { token, principal } = await tokens.create({
        role: required('role', v.role),
        // An empty --name/--tenant is passed on (and refused), never read as "none".
        ...(v.name !== undefined ? { name: v.name } : {}),
        ...(v.tenant !== undefined ? { tenant: v.tenant } : {}),
      });
      process.stdout.write(`auditlog: created ${describe(principal)}\n${token}\n`);
    } else if (sub === 'revoke') {
      const revoked = await tokens.revoke(positionals[0]!);
      process.stdout.write(revoked.map((t) => `auditlog: revoked ${describe(t)}\n`).join(''));
    } else {
      const list = await tokens.list();
      if ((values as { json?: boolean }).json) {
        process.stdout.write(`${JSON.stringify({ tokens: list })}\n`);
      } else {
        for (const t of list) {
          const state = t.revoked ? `revoked ${t.revoked} by ${t.revoked_by}` : 'active';
          process.stdout.write(`${t.name}\t${t.role}\t${t.tenant ?? '-'}\t${t.created}\t${state}\n`);
        }
      }
    }
  } finally {
    await db.close();
  }
  return 0;
}

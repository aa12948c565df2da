/**
 * The `auditlog` command: one file per subcommand, each exporting
 * `run(argv: string[]): Promise<number>` (the exit code).
 */
const COMMANDS: Record<string, () => Promise<{ run(argv: string[]): Promise<number> }>> = {
  init: () => import('./init.js'),
  serve: () => import('./serve.js'),
  token: () => import('./token.js'),
  submit: () => import('./submit.js'),
  verify: () => import('./verify.js'),
  prove: () => import('./prove.js'),
  consistency: () => import('./consistency.js'),
  get: () => import('./get.js'),
  witness: () => import('./witness.js'),
  monitor: () => import('./monitor.js'),
  retention: () => import('./retention.js'),
  archive: () => import('./archive.js'),
};

const USAGE = `usage: auditlog <command> [options]

commands:
  init      --data DIR --origin ORIGIN             create a log (key file 0600, database)
  serve     --data DIR [--port 8080] [--host 127.0.0.1] [--origin O] ...   run the log server
  token     create --data DIR --role ROLE [--name N] [--tenant T]         create a bearer token
  token     revoke NAME --data DIR | list --data DIR                       revoke or list tokens (stopped log)
  submit    --log URL [--token T] [FILE|-] [--record] [--out FILE]       submit an entry, print its receipt
  verify    RECEIPT --vkey VKEY [--policy FILE] [--log URL]              verify a receipt offline
  prove     --log URL (--index N | --hash H) [--size N] [--vkey VKEY]    print an inclusion proof
  consistency --log URL --from M [--to N] [--vkey VKEY]                  print and check a consistency proof
  get       --log URL --range A:B [--vkey VKEY]                          stream entries as JSON lines
  witness   --data DIR --name NAME --log VKEY[=URL] [--peer URL] [--alert-webhook URL] [--pin ...]   run a witness
  witness   clear-fork --data DIR --log ORIGIN [--reason TEXT]            cosign a forked log again (stopped witness)
  monitor   --log VKEY=URL [--data DIR] [--alert-webhook URL] [--once]   follow and audit a log
  retention run --data DIR [--now ISO-TIME] [--json]                     archive and delete by retention class
  archive   verify FILE --vkey VKEY                                      check an archive bundle offline
${'' /* further commands are listed by their own modules */}
Run 'auditlog <command> --help' for a command's options.
`;

/** Registers a subcommand (used by the modules that add commands). */
export function registerCommand(
  name: string,
  load: () => Promise<{ run(argv: string[]): Promise<number> }>,
): void {
  COMMANDS[name] = load;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(`${USAGE}\navailable: ${Object.keys(COMMANDS).join(', ')}\n`);
    return cmd ? 0 : 2;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    process.stderr.write(`auditlog: unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
    return 2;
  }
  const mod = await load();
  return mod.run(rest);
}

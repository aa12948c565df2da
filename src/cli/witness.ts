/**
 * `auditlog witness --data DIR --port PORT --name NAME --log VKEY[=URL] [--log ...] [--peer URL ...]
 *   [--alert-webhook URL] [--poll-ms MS] [--host 127.0.0.1]`
 * Runs a witness (spec/witness.md). Prints its verifier key (type 0x04) and the address it listens
 * on; SIGTERM/SIGINT finish the round in flight and close the database.
 */
import { parseArgs } from 'node:util';
import { intFlag, required } from './args.js';
import { parseBaseUrl, parseLogFlag, parseMs, parseWebhookUrl } from '../witness/config.js';
import { listen, startLoops, witnessApp } from '../witness/server.js';
import { Witness } from '../witness/witness.js';

const HELP = `usage: auditlog witness --data DIR --name NAME --log VKEY[=URL] [--log ...] [options]
  --port PORT           listen port (default 7380; 0 = any)
  --host HOST           listen address (default 127.0.0.1)
  --peer URL            another witness to compare views with (repeatable)
  --alert-webhook URL   POST every alert (JSON) here, retried until 2xx
  --poll-ms MS          interval of log polls and peer pulls (default 5000)
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      port: { type: 'string', default: '7380' },
      host: { type: 'string', default: '127.0.0.1' },
      name: { type: 'string' },
      log: { type: 'string', multiple: true, default: [] },
      peer: { type: 'string', multiple: true, default: [] },
      'alert-webhook': { type: 'string' },
      'poll-ms': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const dir = required('data', values.data);
  const name = required('name', values.name);
  const logs = values.log.map(parseLogFlag);
  const peers = values.peer.map((p) => parseBaseUrl(p, '--peer'));
  const webhook =
    values['alert-webhook'] === undefined ? undefined : parseWebhookUrl(values['alert-webhook']);
  const pollMs = parseMs(values['poll-ms'], 5000, '--poll-ms');
  const port = intFlag('port', values.port, 7380);
  const witness = await Witness.open({ dir, name, logs, ...(webhook ? { webhook } : {}) });
  const server = await listen(witnessApp(witness), port, values.host);
  const stopLoops = startLoops(witness, { peers, pollMs });
  // Signal handlers first: whoever reads the "listening" line may signal at once.
  const done = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await stopLoops();
      await server.close();
      await witness.close();
      resolve(0);
    };
    process.once('SIGTERM', () => void stop());
    process.once('SIGINT', () => void stop());
  });
  process.stdout.write(
    `auditlog witness: name ${name}\nauditlog: vkey ${witness.vkey}\nauditlog: listening on http://${values.host}:${server.port}\n`,
  );
  return done;
}

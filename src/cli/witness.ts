/**
 * `auditlog witness --data DIR --port PORT --name NAME --log VKEY[=URL] [--log ...]
 *   [--log-origin VKEY=ORIGIN ...] [--log-token URL=FILE ...] [--peer URL ...] [--alert-webhook URL] [--poll-ms MS]
 *   [--host 127.0.0.1] [--pin ORIGIN:SIZE:ROOT ...] [--pin-checkpoint FILE ...]
 *   [--max-connections N] [--max-inflight-body-mib M] [--request-timeout S]`
 * Runs a witness (spec/witness.md). Prints its verifier key (type 0x04) and the address it listens
 * on; SIGTERM/SIGINT finish the round in flight and close the database.
 *
 * `auditlog witness clear-fork --data DIR --log ORIGIN [--reason TEXT]`
 * Clears the forked state of a log on a stopped witness, so that it cosigns the log again; the
 * clear is written to stderr and recorded in the database.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AuditlogError } from '../errors.js';
import { intFlag, listenError, required, serverLimitFlags } from './args.js';
import {
  applyLogOrigins,
  applyLogTokens,
  parseBaseUrl,
  parseLogFlag,
  parseLogOriginFlag,
  parseMs,
  parsePinFile,
  parsePinFlag,
  parseWebhookUrl,
} from '../witness/config.js';
import { MAX_CHECKPOINT_BYTES, utf8Text } from '../witness/fetch.js';
import { clearForkInDir } from '../witness/forks.js';
import { MAX_ADD_CHECKPOINT_BYTES } from '../witness/wire.js';
import { DEFAULT_WITNESS_BODY_BUDGET_MIB, listen, startLoops, witnessApp } from '../witness/server.js';
import { type PinnedCheckpoint, Witness } from '../witness/witness.js';

const HELP = `usage: auditlog witness --data DIR --name NAME --log VKEY[=URL] [--log ...] [options]
  --log VKEY[=URL]      a log key (type 0x01); the log's origin is the key name unless
                        --log-origin says otherwise; with URL the log is polled (repeatable)
  --log-origin VKEY=ORIGIN  the origin line of the log whose --log key is VKEY, when it is not
                        the key name (e.g. the Go checksum database's 'go.sum database tree')
  --log-token URL=FILE  send the token in FILE (mode 0600) when polling the log at URL
                        (a log served with --private-reads)
  --port PORT           listen port (default 7380; 0 = any)
  --host HOST           listen address (default 127.0.0.1)
  --peer URL            another witness to compare views with (repeatable)
  --alert-webhook URL   POST every alert (JSON) here, retried until 2xx
  --poll-ms MS          interval of log polls and peer pulls (default 5000)
  --pin ORIGIN:SIZE:ROOT    start a log from this size and base64 root instead of trusting
                            its first checkpoint (repeatable, one per log)
  --pin-checkpoint FILE     the same from a checkpoint signed by the log (repeatable)
  --max-connections N   most connections open at once; more are closed as they are accepted
                        (default 1024)
  --max-inflight-body-mib M
                        most MiB of add-checkpoint bodies being received at once; beyond it
                        503 + Retry-After (default 16, at least 1)
  --request-timeout S   a request must arrive whole within S seconds, its headers within 20;
                        past that 408 and the connection is closed (default 60)
       auditlog witness clear-fork --data DIR --log ORIGIN [--reason TEXT]
  clear the forked state of a log (the witness must be stopped), so that it is cosigned again
`;

/** Reads a `--pin-checkpoint` file (at most 128 KiB of UTF-8). */
function readPinFile(path: string): PinnedCheckpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new AuditlogError('NOT_FOUND', `--pin-checkpoint ${path}: ${(e as Error).message}`);
  }
  if (bytes.length > MAX_CHECKPOINT_BYTES)
    throw new AuditlogError('TOO_LARGE', `--pin-checkpoint ${path}: over ${MAX_CHECKPOINT_BYTES} bytes`);
  try {
    return parsePinFile(utf8Text(bytes));
  } catch (e) {
    throw new AuditlogError(
      (e as AuditlogError).code ?? 'BAD_CHECKPOINT',
      `--pin-checkpoint ${path}: ${(e as Error).message}`,
    );
  }
}

async function clearForkCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      log: { type: 'string' },
      reason: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: auditlog witness clear-fork --data DIR --log ORIGIN [--reason TEXT]\n' +
        '  clear the forked state of a log (the witness must be stopped), so that it is cosigned again\n',
    );
    return 0;
  }
  const dir = required('data', values.data);
  const origin = required('log', values.log);
  const c = await clearForkInDir(dir, origin, values.reason === undefined ? {} : { reason: values.reason });
  process.stderr.write(
    `auditlog witness: cleared the forked state of ${origin} (alert ${c.alert}, forked since ${c.since}) at ${c.cleared_at}${c.reason ? `: ${c.reason}` : ''}; it is cosigned again from the next start\n`,
  );
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'clear-fork') return clearForkCommand(argv.slice(1));
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      port: { type: 'string', default: '7380' },
      host: { type: 'string', default: '127.0.0.1' },
      name: { type: 'string' },
      log: { type: 'string', multiple: true, default: [] },
      'log-origin': { type: 'string', multiple: true, default: [] },
      'log-token': { type: 'string', multiple: true, default: [] },
      peer: { type: 'string', multiple: true, default: [] },
      'alert-webhook': { type: 'string' },
      'poll-ms': { type: 'string' },
      pin: { type: 'string', multiple: true, default: [] },
      'pin-checkpoint': { type: 'string', multiple: true, default: [] },
      'max-connections': { type: 'string' },
      'max-inflight-body-mib': { type: 'string' },
      'request-timeout': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const dir = required('data', values.data);
  const name = required('name', values.name);
  const logs = await applyLogTokens(
    applyLogOrigins(values.log.map(parseLogFlag), values['log-origin'].map(parseLogOriginFlag)),
    values['log-token'],
  );
  const peers = values.peer.map((p) => parseBaseUrl(p, '--peer'));
  const webhook =
    values['alert-webhook'] === undefined ? undefined : parseWebhookUrl(values['alert-webhook']);
  const pollMs = parseMs(values['poll-ms'], 5000, '--poll-ms');
  const port = intFlag('port', values.port, 7380);
  const { maxConnections, bodyBudgetBytes, requestTimeoutS } = serverLimitFlags(
    values,
    DEFAULT_WITNESS_BODY_BUDGET_MIB,
    MAX_ADD_CHECKPOINT_BYTES,
  );
  const pins = [...values.pin.map(parsePinFlag), ...values['pin-checkpoint'].map(readPinFile)];
  const witness = await Witness.open({ dir, name, logs, pins, ...(webhook ? { webhook } : {}) });
  const app = witnessApp(witness, { maxBodyBytesInFlight: bodyBudgetBytes });
  const server = await listen(app, port, values.host, { maxConnections, requestTimeoutS }).catch(
    async (err: unknown) => {
      await witness.close();
      throw listenError(values.host, port, err);
    },
  );
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

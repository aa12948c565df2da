/**
 * What the client subcommands (submit, verify, prove, consistency, get) share: strict flag parsing
 * with `--help`, usage errors (exit 2), and running the command's work around a LogClient so that a
 * failure is one line on stderr (exit 1) and the client is always closed.
 *
 * Every line a command writes is prefixed `auditlog <name>: `; usage errors are followed by the
 * command's usage line.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { describeFailure, readTokenFile } from '../client/inputs.js';
import type { LogClient } from '../client/log-client.js';
import { AuditlogError, oneLine } from '../errors.js';
import { parseCanonicalUint64, parseCheckpoint } from '../note/checkpoint.js';
import { parseNote } from '../note/note.js';

/** The parsed flags of a command line. */
export type Flags = Record<string, string | boolean | undefined>;

/**
 * The token flags every client command takes (ClientCommand.token reads them). `--token` is
 * visible to every user of the machine in `ps`; `--token-file` and $AUDITLOG_TOKEN are not.
 */
export const TOKEN_FLAGS = {
  token: { type: 'string' },
  'token-file': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** The usage text of TOKEN_FLAGS. */
export const TOKEN_USAGE = '[--token T | --token-file FILE | $AUDITLOG_TOKEN]';

/** A uint64 flag, in canonical decimal (no sign, no leading zeros). */
export function uint(name: string, v: string): bigint {
  const n = parseCanonicalUint64(v);
  if (n === null) throw new AuditlogError('BAD_REQUEST', `--${name} must be a canonical decimal uint64`);
  return n;
}

/** One client subcommand: its name (as typed after `auditlog`) and its usage line. */
export class ClientCommand {
  constructor(
    readonly name: string,
    readonly usage: string,
  ) {}

  /**
   * Parses `argv` strictly against `options` (plus `--help`/`-h`, added here). Returns the flags and
   * positionals, or the exit code when there is nothing more to do: 0 after printing the usage line
   * to stdout for `--help`, 2 after a usage error on stderr when the command line does not parse.
   */
  parse(
    argv: string[],
    options: NonNullable<ParseArgsConfig['options']>,
    allowPositionals = false,
  ): { values: Flags; positionals: string[] } | number {
    let values: Flags;
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args: argv,
        allowPositionals,
        options: { ...options, help: { type: 'boolean', short: 'h' } },
      }));
    } catch (err) {
      return this.usageError((err as Error).message);
    }
    if (values.help) {
      process.stdout.write(`${this.usage}\n`);
      return 0;
    }
    if (typeof values.token === 'string' && typeof values['token-file'] === 'string') {
      return this.usageError('give --token or --token-file, not both');
    }
    return { values, positionals };
  }

  /**
   * The bearer token of a command given TOKEN_FLAGS: read from `--token-file` (readTokenFile:
   * mode 0600, first line), else `--token`, else $AUDITLOG_TOKEN; undefined when none is set.
   * Submissions need one; reads send it when there is one (a log run with --private-reads
   * answers reads without a token 401).
   */
  async token(values: Flags): Promise<string | undefined> {
    if (typeof values['token-file'] === 'string') return readTokenFile(values['token-file']);
    const t = typeof values.token === 'string' ? values.token : process.env.AUDITLOG_TOKEN;
    return t === undefined || t === '' ? undefined : t;
  }

  /**
   * Reports a usage error (missing or conflicting flags) on stderr, followed by the usage line
   * unless `withUsage` is false, and returns the exit code 2.
   */
  usageError(message: string, withUsage = true): number {
    process.stderr.write(`auditlog ${this.name}: ${oneLine(message)}\n${withUsage ? `${this.usage}\n` : ''}`);
    return 2;
  }

  /** Writes a line to stderr: a warning, or a verdict that does not belong on stdout. */
  note(message: string): void {
    process.stderr.write(`auditlog ${this.name}: ${oneLine(message)}\n`);
  }

  /**
   * Runs the command's work and returns its exit code. `work` registers the LogClient it opens with
   * `use` (it may open none); that client is closed whatever happens. A failure is reported as one
   * line, `auditlog <name>: <failurePrefix><code: explanation: message>`, and gives exit code 1;
   * `beforeFailure` runs just before that line is written (e.g. to end a progress bar's line).
   */
  async run(
    work: (use: (client: LogClient) => LogClient) => Promise<number>,
    opts: { failurePrefix?: string; beforeFailure?: () => void } = {},
  ): Promise<number> {
    let client: LogClient | undefined;
    try {
      return await work((c) => {
        client = c;
        return c;
      });
    } catch (err) {
      opts.beforeFailure?.();
      this.note(`${opts.failurePrefix ?? ''}${describeFailure(err)}`);
      return 1;
    } finally {
      await client?.close();
    }
  }

  /**
   * The log's current checkpoint note and its parsed checkpoint. With `verified` (the client was
   * given a verifier key) its signature is checked; otherwise a warning says it was not.
   */
  async checkpoint(client: LogClient, verified: boolean) {
    let note: string;
    if (verified) note = (await client.checkpoint()).noteText;
    else {
      note = await client.checkpointNote();
      this.note('warning: checkpoint signature not verified (no --vkey)');
    }
    return { note, cp: parseCheckpoint(parseNote(note).text) };
  }
}

/** Small helpers shared by the subcommands: strict flag parsing and one-line errors. */
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_TIMEOUT_S } from '../api/server-options.js';
import { AuditlogError } from '../errors.js';

/** A non-negative integer flag. */
export function intFlag(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^(0|[1-9][0-9]*)$/.test(v))
    throw new AuditlogError('BAD_REQUEST', `--${name} must be a non-negative integer`);
  return Number(v);
}

/** Requires a flag. */
export function required(name: string, v: string | undefined): string {
  if (v === undefined || v === '') throw new AuditlogError('BAD_REQUEST', `--${name} is required`);
  return v;
}

/** The error for a server that could not listen on host:port, saying what to do about it. */
export function listenError(host: string, port: number, err: unknown): AuditlogError {
  const e = err as NodeJS.ErrnoException;
  return new AuditlogError(
    'BAD_REQUEST',
    e.code === 'EADDRINUSE'
      ? `${host}:${port} is already in use: stop what listens there, or choose another --port`
      : `cannot listen on ${host}:${port}: ${e.message}`,
  );
}

/**
 * `--max-connections N` (at least 1), `--max-inflight-body-mib M` and `--request-timeout S`
 * (at least 1) of the HTTP servers (log and witness): the budget must hold `largestBody` bytes,
 * the largest body a route takes, or such a body would be refused for ever; at most 1 TiB.
 */
export function serverLimitFlags(
  values: { 'max-connections'?: string; 'max-inflight-body-mib'?: string; 'request-timeout'?: string },
  defaultBodyMiB: number,
  largestBody: number,
): { maxConnections: number; bodyBudgetBytes: number; requestTimeoutS: number } {
  const maxConnections = intFlag('max-connections', values['max-connections'], DEFAULT_MAX_CONNECTIONS);
  if (maxConnections < 1) throw new AuditlogError('BAD_REQUEST', '--max-connections must be at least 1');
  const mib = intFlag('max-inflight-body-mib', values['max-inflight-body-mib'], defaultBodyMiB);
  const min = Math.max(1, Math.ceil(largestBody / (1024 * 1024)));
  if (mib < min || mib > 1024 * 1024) {
    throw new AuditlogError('BAD_REQUEST', `--max-inflight-body-mib must be from ${min} to 1048576`);
  }
  const requestTimeoutS = intFlag('request-timeout', values['request-timeout'], DEFAULT_REQUEST_TIMEOUT_S);
  if (requestTimeoutS < 1) throw new AuditlogError('BAD_REQUEST', '--request-timeout must be at least 1');
  return { maxConnections, bodyBudgetBytes: mib * 1024 * 1024, requestTimeoutS };
}

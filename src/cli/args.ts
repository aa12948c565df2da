/** Small helpers shared by the subcommands: strict flag parsing and one-line errors. */
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

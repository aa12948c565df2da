import { AuditlogError } from '../errors.js';

/**
 * Retention classes (spec/retention.md): how long a record stays in the hot store and how long
 * it must be kept at all. Durations are calendar durations in UTC.
 */

/** A calendar duration `P[nY][nM][nD]` (ISO 8601 subset). */
export interface Duration {
  years: number;
  months: number;
  days: number;
  /** The text it was parsed from, for messages and records. */
  text: string;
}

export interface RetentionClass {
  name: string;
  /** How long records must be kept, counted from the log's integration time. */
  retention: Duration;
  /** How long records stay in the hot store before moving to an archive bundle. */
  hotPeriod: Duration;
}

const DURATION = /^P(?:(\d{1,4})Y)?(?:(\d{1,5})M)?(?:(\d{1,6})D)?$/;

/**
 * Parses `P[nY][nM][nD]` with at least one part (e.g. `P6M`, `P7Y`, `P90D`, `P1Y6M`).
 * @throws AuditlogError('BAD_REQUEST') naming `field` otherwise.
 */
export function parseDuration(text: unknown, field: string): Duration {
  const m = typeof text === 'string' ? DURATION.exec(text) : null;
  if (m === null || text === 'P')
    throw new AuditlogError('BAD_REQUEST', `${field}: not a duration P[nY][nM][nD]`);
  return {
    years: Number(m[1] ?? 0),
    months: Number(m[2] ?? 0),
    days: Number(m[3] ?? 0),
    text: text as string,
  };
}

/**
 * `ms` plus `d` on the UTC calendar: years and months first (the day of month clamped to the
 * month's last day, so Aug 31 + P6M is Feb 28/29), then days. Time of day is kept.
 */
export function addDuration(ms: number, d: Duration): number {
  const t = new Date(ms);
  const totalMonths = t.getUTCFullYear() * 12 + t.getUTCMonth() + d.years * 12 + d.months;
  const year = Math.floor(totalMonths / 12);
  const month = totalMonths % 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(t.getUTCDate(), lastDay);
  const base = Date.UTC(
    year,
    month,
    day,
    t.getUTCHours(),
    t.getUTCMinutes(),
    t.getUTCSeconds(),
    t.getUTCMilliseconds(),
  );
  return base + d.days * 86_400_000;
}

/** The default hot period: 90 days. */
export const DEFAULT_HOT_PERIOD = parseDuration('P90D', 'hot_period');

/** The named presets; a configuration may add custom classes but not redefine these. */
export const PRESETS: Readonly<Record<string, Duration>> = {
  /** EU AI Act Art. 19 / 26(6): logs kept at least six months. */
  eu_ai_act: parseDuration('P6M', 'eu_ai_act'),
  /** SOC 2: audit evidence for the one-year observation period. */
  soc2: parseDuration('P1Y', 'soc2'),
  /** HIPAA 45 CFR 164.316(b)(2): six years. */
  hipaa: parseDuration('P6Y', 'hipaa'),
  /** SEC 17a-4 / broker-dealer and financial records: seven years (the longest common period). */
  sec_17a_4: parseDuration('P7Y', 'sec_17a_4'),
  financial: parseDuration('P7Y', 'financial'),
  /** EU MDR Art. 10(8): fifteen years for implantable devices. */
  eu_mdr: parseDuration('P15Y', 'eu_mdr'),
};

/** The retention of one record: when it leaves the hot store and when it may be deleted. */
export interface RecordRetention {
  hotUntilMs: number;
  retainUntilMs: number;
  /** Names of the classes considered; the strictest (latest end) wins. */
  classes: string[];
}

/**
 * The strictest retention of several classes for a record logged at `loggedAtMs`: it is kept
 * until the latest end of any of them, and leaves the hot store after the first class's hot
 * period (never after it may be deleted). Requires at least one class; the first is the tenant's.
 */
export function strictestRetention(loggedAtMs: number, classes: readonly RetentionClass[]): RecordRetention {
  const first = classes[0];
  if (first === undefined) throw new AuditlogError('INTERNAL', 'strictestRetention: no class');
  let retainUntilMs = addDuration(loggedAtMs, first.retention);
  for (const c of classes) retainUntilMs = Math.max(retainUntilMs, addDuration(loggedAtMs, c.retention));
  const hotUntilMs = Math.min(addDuration(loggedAtMs, first.hotPeriod), retainUntilMs);
  return { hotUntilMs, retainUntilMs, classes: [...new Set(classes.map((c) => c.name))] };
}

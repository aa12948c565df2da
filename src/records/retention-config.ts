import fs from 'node:fs';
import path from 'node:path';
import { AuditlogError } from '../errors.js';
import type { AuditRecord } from './schema.js';
import { DEFAULT_HOT_PERIOD, PRESETS, parseDuration, type RetentionClass } from './retention.js';

/**
 * The `retention` section of `<data>/config.json` (spec/retention.md, "Configuration").
 * Every member is optional; a missing file or section means: every tenant `soc2`, 90 hot days.
 *
 * ```json
 * {"retention": {
 *   "default_class": "soc2",                       // class of tenants not listed
 *   "hot_period": "P90D",                          // default hot period of every class
 *   "classes": {"trial": {"retention": "P2Y", "hot_period": "P30D"}},  // custom classes
 *   "tenants": {"tnt_acme": "hipaa", "tnt_bank": {"class": "sec_17a_4", "hot_period": "P30D"}},
 *   "classifications": {"restricted": "hipaa"},    // data_classification -> class
 *   "archive_dir": "archive",                      // relative to the data directory
 *   "interval_minutes": 60,                        // how often serve runs the job; 0 = never
 *   "erasure_during_retention": "allow"            // or "refuse": GDPR Art. 17(3)(b)
 * }}
 * ```
 */
export interface RetentionConfig {
  defaultClass: string;
  classes: Map<string, RetentionClass>;
  /** tenant -> class (with the tenant's own hot period when it overrides it). */
  tenants: Map<string, RetentionClass>;
  classifications: Map<string, string>;
  archiveDir: string;
  intervalMinutes: number;
  /**
   * allow (default): an erasure destroys personal data even of records whose retention has not
   * ended (the leaf, with its commitments, stays). refuse: such an erasure is refused (RETENTION),
   * for controllers whose legal obligation to keep the records overrides erasure (GDPR 17(3)(b)).
   */
  erasureDuringRetention: 'allow' | 'refuse';
}

const SECTION_KEYS = [
  'default_class',
  'hot_period',
  'classes',
  'tenants',
  'classifications',
  'archive_dir',
  'interval_minutes',
  'erasure_during_retention',
];

/** The configuration with no file: every tenant soc2, hot 90 days, archives in `<data>/archive`, hourly. */
export function defaultRetentionConfig(dataDir: string): RetentionConfig {
  return parseRetentionConfig(undefined, dataDir);
}

/**
 * Reads `<dataDir>/config.json` (absent file: defaults) and parses its `retention` section.
 * @throws AuditlogError('BAD_REQUEST') naming the bad member (`retention.tenants.x: ...`).
 */
export function loadRetentionConfig(dataDir: string): RetentionConfig {
  const file = path.join(dataDir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return defaultRetentionConfig(dataDir);
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AuditlogError('BAD_REQUEST', `${file}: not JSON`);
  }
  if (!isObject(json)) throw new AuditlogError('BAD_REQUEST', `${file}: not a JSON object`);
  return parseRetentionConfig(json.retention, dataDir);
}

/** Parses a `retention` section value (undefined means all defaults). */
export function parseRetentionConfig(section: unknown, dataDir: string): RetentionConfig {
  const s = section === undefined ? {} : section;
  if (!isObject(s)) throw new AuditlogError('BAD_REQUEST', 'retention: not an object');
  const extra = Object.keys(s).find((k) => !SECTION_KEYS.includes(k));
  if (extra !== undefined) throw new AuditlogError('BAD_REQUEST', `retention.${extra}: unknown field`);

  const hot =
    s.hot_period === undefined ? DEFAULT_HOT_PERIOD : parseDuration(s.hot_period, 'retention.hot_period');
  const classes = new Map<string, RetentionClass>();
  for (const [name, retention] of Object.entries(PRESETS))
    classes.set(name, { name, retention, hotPeriod: hot });
  const custom = s.classes ?? {};
  if (!isObject(custom)) throw new AuditlogError('BAD_REQUEST', 'retention.classes: not an object');
  for (const [name, def] of Object.entries(custom)) {
    const at = `retention.classes.${name}`;
    if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name))
      throw new AuditlogError('BAD_REQUEST', `${at}: bad class name`);
    if (classes.has(name)) throw new AuditlogError('BAD_REQUEST', `${at}: redefines a preset`);
    if (!isObject(def)) throw new AuditlogError('BAD_REQUEST', `${at}: not an object`);
    const bad = Object.keys(def).find((k) => k !== 'retention' && k !== 'hot_period');
    if (bad !== undefined) throw new AuditlogError('BAD_REQUEST', `${at}.${bad}: unknown field`);
    classes.set(name, {
      name,
      retention: parseDuration(def.retention, `${at}.retention`),
      hotPeriod: def.hot_period === undefined ? hot : parseDuration(def.hot_period, `${at}.hot_period`),
    });
  }
  const lookup = (name: unknown, at: string): RetentionClass => {
    const c = typeof name === 'string' ? classes.get(name) : undefined;
    if (c === undefined) throw new AuditlogError('BAD_REQUEST', `${at}: unknown retention class`);
    return c;
  };

  const defaultClass = s.default_class === undefined ? 'soc2' : s.default_class;
  lookup(defaultClass, 'retention.default_class');

  const tenants = new Map<string, RetentionClass>();
  const t = s.tenants ?? {};
  if (!isObject(t)) throw new AuditlogError('BAD_REQUEST', 'retention.tenants: not an object');
  for (const [tenant, def] of Object.entries(t)) {
    const at = `retention.tenants.${tenant}`;
    if (typeof def === 'string') {
      tenants.set(tenant, lookup(def, at));
    } else if (isObject(def)) {
      const bad = Object.keys(def).find((k) => k !== 'class' && k !== 'hot_period');
      if (bad !== undefined) throw new AuditlogError('BAD_REQUEST', `${at}.${bad}: unknown field`);
      const c = lookup(def.class, `${at}.class`);
      tenants.set(
        tenant,
        def.hot_period === undefined
          ? c
          : { ...c, hotPeriod: parseDuration(def.hot_period, `${at}.hot_period`) },
      );
    } else {
      throw new AuditlogError('BAD_REQUEST', `${at}: want a class name or {"class", "hot_period"}`);
    }
  }

  const classifications = new Map<string, string>();
  const cl = s.classifications ?? {};
  if (!isObject(cl)) throw new AuditlogError('BAD_REQUEST', 'retention.classifications: not an object');
  for (const [level, name] of Object.entries(cl)) {
    const at = `retention.classifications.${level}`;
    if (!['public', 'internal', 'confidential', 'restricted'].includes(level)) {
      throw new AuditlogError('BAD_REQUEST', `${at}: not a data classification`);
    }
    classifications.set(level, lookup(name, at).name);
  }

  if (s.archive_dir !== undefined && (typeof s.archive_dir !== 'string' || s.archive_dir === '')) {
    throw new AuditlogError('BAD_REQUEST', 'retention.archive_dir: not a path');
  }
  const archiveDir = path.resolve(dataDir, (s.archive_dir as string | undefined) ?? 'archive');
  const interval = s.interval_minutes ?? 60;
  if (typeof interval !== 'number' || !Number.isInteger(interval) || interval < 0 || interval > 525_600) {
    throw new AuditlogError('BAD_REQUEST', 'retention.interval_minutes: want an integer 0..525600');
  }
  const erasure = s.erasure_during_retention ?? 'allow';
  if (erasure !== 'allow' && erasure !== 'refuse') {
    throw new AuditlogError('BAD_REQUEST', 'retention.erasure_during_retention: want "allow" or "refuse"');
  }
  return {
    erasureDuringRetention: erasure,
    defaultClass: defaultClass as string,
    classes,
    tenants,
    classifications,
    archiveDir,
    intervalMinutes: interval,
  };
}

/**
 * The classes that apply to a record, the tenant's first: the tenant's class, then one per
 * compliance domain, then one per mapped data classification.
 * @throws AuditlogError('BAD_REQUEST') naming `compliance_domains.<i>` for an unknown class.
 */
export function classesForRecord(cfg: RetentionConfig, record: AuditRecord): RetentionClass[] {
  const tenantClass = cfg.tenants.get(record.tenant_id) ?? cfg.classes.get(cfg.defaultClass)!;
  const out = [tenantClass];
  record.compliance_domains?.forEach((d, i) => {
    const c = cfg.classes.get(d);
    if (c === undefined)
      throw new AuditlogError('BAD_REQUEST', `compliance_domains.${i}: unknown retention class "${d}"`);
    out.push(c);
  });
  for (const level of record.data_classification ?? []) {
    const name = cfg.classifications.get(level);
    if (name !== undefined) out.push(cfg.classes.get(name)!);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

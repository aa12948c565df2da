import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditlogError } from '../../src/errors.js';
import { parseRecord } from '../../src/records/schema.js';
import { addDuration, PRESETS, parseDuration, strictestRetention } from '../../src/records/retention.js';
import {
  classesForRecord,
  loadRetentionConfig,
  parseRetentionConfig,
} from '../../src/records/retention-config.js';
import { exampleRecord } from './fixtures.js';

const at = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString();

function badRequest(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect((err as AuditlogError).code).toBe('BAD_REQUEST');
    return (err as AuditlogError).message;
  }
  throw new Error('expected BAD_REQUEST');
}

describe('durations', () => {
  it('parse P[nY][nM][nD] and nothing else', () => {
    expect(parseDuration('P1Y6M3D', 'x')).toMatchObject({ years: 1, months: 6, days: 3 });
    for (const bad of ['P', '', 'P1W', 'PT1H', '1Y', 'P-1D', 'P1.5Y', 'p1y', 'P1D1Y', 12, null]) {
      expect(badRequest(() => parseDuration(bad, 'retention.x'))).toContain('retention.x');
    }
  });
  it('add on the UTC calendar, clamping to the end of the month', () => {
    expect(iso(addDuration(at('2026-08-31T10:00:00.000Z'), parseDuration('P6M', '')))).toBe(
      '2027-02-28T10:00:00.000Z',
    );
    expect(iso(addDuration(at('2024-02-29T00:00:00.000Z'), parseDuration('P1Y', '')))).toBe(
      '2025-02-28T00:00:00.000Z',
    );
    expect(iso(addDuration(at('2026-01-01T00:00:00.000Z'), parseDuration('P90D', '')))).toBe(
      '2026-04-01T00:00:00.000Z',
    );
    expect(iso(addDuration(at('2026-11-15T00:00:00.000Z'), parseDuration('P2M', '')))).toBe(
      '2027-01-15T00:00:00.000Z',
    );
  });
  it('has the presets of the issue', () => {
    expect(Object.fromEntries(Object.entries(PRESETS).map(([k, v]) => [k, v.text]))).toMatchObject({
      eu_ai_act: 'P6M',
      soc2: 'P1Y',
      hipaa: 'P6Y',
      sec_17a_4: 'P7Y',
      eu_mdr: 'P15Y',
    });
  });
});

describe('retention configuration', () => {
  const cfg = parseRetentionConfig(
    {
      default_class: 'eu_ai_act',
      classes: { trial: { retention: 'P30D', hot_period: 'P60D' } },
      tenants: {
        tnt_acme: 'hipaa',
        tnt_short: 'trial',
        tnt_bank: { class: 'sec_17a_4', hot_period: 'P30D' },
      },
      classifications: { restricted: 'eu_mdr' },
    },
    '/data',
  );

  it('defaults: soc2, 90 hot days, archive under the data dir', () => {
    const d = parseRetentionConfig(undefined, '/data');
    expect(d.defaultClass).toBe('soc2');
    expect(d.archiveDir).toBe(path.resolve('/data/archive'));
    const r = strictestRetention(
      at('2026-01-01T00:00:00Z'),
      classesForRecord(d, parseRecord(exampleRecord())),
    );
    expect(iso(r.hotUntilMs)).toBe('2026-04-01T00:00:00.000Z');
    expect(iso(r.retainUntilMs)).toBe('2027-01-01T00:00:00.000Z');
  });

  it('the strictest retention wins across tenant, domains and classifications', () => {
    const rec = parseRecord({ ...exampleRecord(), compliance_domains: ['sec_17a_4'] });
    const r = strictestRetention(at('2026-01-01T00:00:00Z'), classesForRecord(cfg, rec));
    expect(r.classes).toEqual(['hipaa', 'sec_17a_4']);
    expect(iso(r.retainUntilMs)).toBe('2033-01-01T00:00:00.000Z');
    const restricted = parseRecord({ ...exampleRecord(), data_classification: ['restricted'] });
    const r2 = strictestRetention(at('2026-01-01T00:00:00Z'), classesForRecord(cfg, restricted));
    expect(iso(r2.retainUntilMs)).toBe('2041-01-01T00:00:00.000Z');
  });

  it('uses the tenant hot period, never past the retention end', () => {
    const bank = parseRecord({ ...exampleRecord(), tenant_id: 'tnt_bank' });
    expect(iso(strictestRetention(at('2026-01-01T00:00:00Z'), classesForRecord(cfg, bank)).hotUntilMs)).toBe(
      '2026-01-31T00:00:00.000Z',
    );
    const short = parseRecord({ ...exampleRecord(), tenant_id: 'tnt_short' });
    const r = strictestRetention(at('2026-01-01T00:00:00Z'), classesForRecord(cfg, short));
    expect(iso(r.hotUntilMs)).toBe('2026-01-31T00:00:00.000Z');
    expect(r.retainUntilMs).toBe(r.hotUntilMs);
  });

  it('refuses an unknown compliance domain, naming it', () => {
    const rec = parseRecord({ ...exampleRecord(), compliance_domains: ['soc2', 'gdpr-ish'] });
    expect(badRequest(() => classesForRecord(cfg, rec))).toContain('compliance_domains.1');
  });

  const bad: [string, unknown, string][] = [
    ['not an object', 5, 'retention:'],
    ['unknown member', { colour: 1 }, 'retention.colour: unknown field'],
    ['unknown default class', { default_class: 'forever' }, 'retention.default_class'],
    ['bad custom duration', { classes: { c: { retention: '7 years' } } }, 'retention.classes.c.retention'],
    ['preset redefined', { classes: { hipaa: { retention: 'P1D' } } }, 'retention.classes.hipaa: redefines'],
    ['unknown tenant class', { tenants: { t: 'nope' } }, 'retention.tenants.t'],
    ['tenant extra member', { tenants: { t: { class: 'soc2', x: 1 } } }, 'retention.tenants.t.x'],
    ['bad classification', { classifications: { secret: 'soc2' } }, 'retention.classifications.secret'],
    ['bad interval', { interval_minutes: -1 }, 'retention.interval_minutes'],
    ['bad archive dir', { archive_dir: '' }, 'retention.archive_dir'],
    ['bad erasure policy', { erasure_during_retention: 'maybe' }, 'retention.erasure_during_retention'],
  ];
  for (const [name, section, msg] of bad) {
    it(`refuses ${name}`, () => {
      expect(badRequest(() => parseRetentionConfig(section, '/data'))).toContain(msg);
    });
  }

  it('loads <data>/config.json, or defaults when absent', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditlog-'));
    expect(loadRetentionConfig(dir).defaultClass).toBe('soc2');
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ retention: { default_class: 'hipaa' } }),
    );
    expect(loadRetentionConfig(dir).defaultClass).toBe('hipaa');
    fs.writeFileSync(path.join(dir, 'config.json'), '{not json');
    badRequest(() => loadRetentionConfig(dir));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

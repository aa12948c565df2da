/** What counts as a claim to be a compliance record (src/monitor/records.ts). */
import { describe, expect, it } from 'vitest';
import { recordProblem } from '../../src/monitor/records.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('recordProblem', () => {
  it('a JSON object claiming schema auditlog.record/ is checked even with leading whitespace or a BOM', () => {
    // Each is a JSON text whose value is an object with schema "auditlog.record/v1" (JSON.parse
    // accepts it; TextDecoder drops the BOM), and none is a record leaf.
    for (const s of [
      ' {"schema":"auditlog.record/v1"}',
      '\n{"schema":"auditlog.record/v1"}',
      '\uFEFF{"schema":"auditlog.record/v1"}',
    ]) {
      expect(JSON.parse(new TextDecoder().decode(enc(s))).schema).toBe('auditlog.record/v1');
      expect(recordProblem(enc(s), false), JSON.stringify(s)).toBeDefined();
    }
  });
});

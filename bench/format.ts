/** Number formatting and the plain-text table printed on the terminal. */
import type { Result } from './results.js';
import type { Stat } from './stats.js';

/** 3 significant digits with a k/M/G suffix: 1234567 -> "1.23M". */
export function si(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e9) return `${sig(v / 1e9)}G`;
  if (a >= 1e6) return `${sig(v / 1e6)}M`;
  if (a >= 1e3) return `${sig(v / 1e3)}k`;
  return sig(v);
}

/** 3 significant digits, no exponent. */
export function sig(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(a)));
  return v.toFixed(digits);
}

/** Bytes with a binary suffix: 16384 -> "16 KiB". */
export function bytes(v: number): string {
  if (v >= 2 ** 30) return `${sig(v / 2 ** 30)} GiB`;
  if (v >= 2 ** 20) return `${sig(v / 2 ** 20)} MiB`;
  if (v >= 2 ** 10) return `${sig(v / 2 ** 10)} KiB`;
  return `${sig(v)} B`;
}

/** Milliseconds: 3 significant digits below 1000, whole numbers above. */
export function ms(v: number): string {
  return v >= 1000 ? v.toFixed(0) : sig(v);
}

/** "median (min–max)" in the unit's natural format. */
export function stat(s: Stat, unit: string): string {
  const f = unit.startsWith('bytes') ? bytes : unit === 'ms' ? ms : si;
  if (s.n === 1 || s.min === s.max) return f(s.median);
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

/** Pads cells into aligned columns; numbers right-aligned by the caller's choice of `right`. */
export function table(header: string[], rows: string[][], right: boolean[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** One result as table cells: name, params, value, extras, ratio. */
export function resultRow(r: Result): string[] {
  const params = Object.entries(r.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const extra = Object.entries(r.extra ?? {})
    .map(([k, s]) => `${k} ${k.endsWith('_ms') ? ms(s.median) : stat(s, k.endsWith('bytes') ? 'bytes' : k)}`)
    .join(', ');
  const ratio = (r.ratios ?? []).map((x) => `${sig(x.value)}x ${x.to}`).join(', ');
  return [r.name, params, `${stat(r.value, r.unit)} ${r.unit}`, extra, ratio];
}

/**
 * The chart: durable append throughput against batch size, one line per signing policy, one panel
 * per entry size, log-log axes, min–max whiskers, and the LevelDB synced-batch ceiling dashed.
 * Hand-written SVG, no dependencies.
 */
import { si } from './format.js';
import type { Report, Result } from './results.js';

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd'];
const PANEL_W = 320;
const PANEL_H = 280;
const M = { left: 58, right: 14, top: 34, bottom: 44 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function entryLabel(n: number): string {
  return n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
}

/** A power of ten as 1, 10, 100, 1k, ..., 1M. */
function tick(t: number): string {
  if (t >= 1e6) return `${t / 1e6}M`;
  if (t >= 1e3) return `${t / 1e3}k`;
  return String(t);
}

/** Powers of ten covering [lo, hi]. */
function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

export function chartSvg(report: Report, policies: readonly string[], ceilingName: string): string {
  const rows = report.results.filter((r) => r.group === 'append');
  const entries = [...new Set(rows.map((r) => Number(r.params.entry)))].sort((a, b) => a - b);
  const batches = [...new Set(rows.map((r) => Number(r.params.batch)))].sort((a, b) => a - b);
  if (rows.length === 0 || batches.length === 0) return '';
  const ceiling = report.results.filter((r) => r.group === 'machine' && r.name === ceilingName);
  const all = [...rows, ...ceiling].flatMap((r) => [r.value.min, r.value.max]).filter((v) => v > 0);
  const yTicks = decades(Math.min(...all), Math.max(...all));
  const yLo = Math.log10(yTicks[0]!);
  const yHi = Math.log10(yTicks.at(-1)!);
  const xLo = Math.log2(batches[0]!);
  const xHi = Math.log2(batches.at(-1)!);
  const plotW = PANEL_W - M.left - M.right;
  const plotH = PANEL_H - M.top - M.bottom;
  const legendCols = 2;
  const legendH = 20 * Math.ceil((policies.length + 1) / legendCols) + 10;
  const width = Math.max(PANEL_W * entries.length, 680);
  const pad = (width - PANEL_W * entries.length) / 2;
  const height = 24 + PANEL_H + legendH + 40;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">` +
      'Durable appends/s vs batch size, by signing policy</text>',
    `<text x="${width / 2}" y="34" text-anchor="middle" fill="#555">` +
      `median of ${report.repeats} runs, whiskers min–max; ${report.mode} run</text>`,
  );
  entries.forEach((entry, p) => {
    const ox = pad + p * PANEL_W + M.left;
    const oy = 40 + M.top - 16;
    const x = (b: number) => ox + (xHi === xLo ? plotW / 2 : ((Math.log2(b) - xLo) / (xHi - xLo)) * plotW);
    const y = (v: number) => oy + plotH - ((Math.log10(v) - yLo) / (yHi - yLo)) * plotH;
    out.push(
      `<text x="${ox + plotW / 2}" y="${oy - 10}" text-anchor="middle" font-weight="bold">${entryLabel(entry)} entries</text>`,
    );
    out.push(`<rect x="${ox}" y="${oy}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
    for (const t of yTicks) {
      out.push(
        `<line x1="${ox}" x2="${ox + plotW}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/>`,
        `<text x="${ox - 5}" y="${y(t) + 4}" text-anchor="end">${tick(t)}</text>`,
      );
    }
    for (const b of batches) {
      out.push(
        `<line x1="${x(b)}" x2="${x(b)}" y1="${oy}" y2="${oy + plotH}" stroke="#eee"/>`,
        `<text x="${x(b)}" y="${oy + plotH + 15}" text-anchor="middle">${b}</text>`,
      );
    }
    out.push(
      `<text x="${ox + plotW / 2}" y="${oy + plotH + 32}" text-anchor="middle">entries per batch</text>`,
      `<text transform="translate(${ox - 44} ${oy + plotH / 2}) rotate(-90)" text-anchor="middle">entries/s</text>`,
    );
    const line = (points: Result[], color: string, dashed: boolean) => {
      const pts = points
        .filter((r) => r.value.median > 0)
        .sort((a, b) => Number(a.params.batch) - Number(b.params.batch));
      if (pts.length === 0) return;
      const d = pts.map((r) => `${x(Number(r.params.batch)).toFixed(1)},${y(r.value.median).toFixed(1)}`);
      out.push(
        `<polyline points="${d.join(' ')}" fill="none" stroke="${color}" stroke-width="2"` +
          `${dashed ? ' stroke-dasharray="5 4"' : ''}/>`,
      );
      for (const r of pts) {
        const cx = x(Number(r.params.batch));
        out.push(
          `<line x1="${cx}" x2="${cx}" y1="${y(r.value.min)}" y2="${y(r.value.max)}" stroke="${color}"/>`,
          `<circle cx="${cx}" cy="${y(r.value.median)}" r="3" fill="${color}">` +
            `<title>${esc(r.name)}, batch ${r.params.batch}: ${si(r.value.median)}/s</title></circle>`,
        );
      }
    };
    line(
      ceiling.filter((r) => Number(r.params.entry) === entry),
      '#777',
      true,
    );
    policies.forEach((name, i) => {
      line(
        rows.filter((r) => r.name === name && Number(r.params.entry) === entry),
        COLORS[i % COLORS.length]!,
        false,
      );
    });
  });
  const legend = [
    ...policies.map((n, i) => [n, COLORS[i % COLORS.length]!, '']),
    [ceilingName, '#777', '5 4'],
  ];
  legend.forEach(([name, color, dash], i) => {
    const lx = width / 2 - 300 + (i % legendCols) * 320;
    const ly = 24 + PANEL_H + 14 + Math.floor(i / legendCols) * 20;
    out.push(
      `<line x1="${lx}" x2="${lx + 28}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"` +
        `${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
      `<text x="${lx + 34}" y="${ly + 4}">${esc(name!)}</text>`,
    );
  });
  const m = report.machine;
  out.push(
    `<text x="${width / 2}" y="${height - 24}" text-anchor="middle" fill="#555" font-size="10">` +
      `${esc(`${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${report.startedAt.slice(0, 10)}`)}</text>`,
    `<text x="${width / 2}" y="${height - 10}" text-anchor="middle" fill="#555" font-size="10">` +
      `${esc(`disk: ${m.disk}`)}</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}

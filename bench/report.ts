// What a run leaves behind: a printed table, the figures as JSON and latency
// over time as an SVG, both under bench/results/ (not committed).
import fs from 'node:fs';
import path from 'node:path';
import { lineChartSvg, type ChartSeries } from '../drills/chart';

export const RESULTS_DIR = path.resolve(__dirname, 'results');

export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `  ${r.map((c, i) => c.padEnd(widths[i] as number)).join('  ')}`.trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}

/** Writes name.json (and name-latency.svg when series are given); returns the paths. */
export function writeResults(name: string, figures: unknown, chart?: { title: string; series: ChartSeries[] }): string[] {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const json = path.join(RESULTS_DIR, `${name}.json`);
  fs.writeFileSync(json, `${JSON.stringify(figures, null, 2)}\n`);
  if (!chart) return [json];
  const svg = path.join(RESULTS_DIR, `${name}-latency.svg`);
  fs.writeFileSync(svg, lineChartSvg({ title: chart.title, xLabel: 'seconds into the phase', yLabel: 'latency (ms)', series: chart.series }));
  return [json, svg];
}

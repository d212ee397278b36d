// A plain SVG line chart for drill reports: axes with ticks and labels, one
// line per series, a legend, and an optional shaded span (a failure window).

export interface ChartSeries {
  name: string;
  color: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

/** A shaded span of x, e.g. a failure window or a time the breaker was open. */
export interface ChartShade {
  from: number;
  to: number;
  label: string;
  color?: string;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  shade?: ChartShade;
  /** more spans, drawn under the lines; the label of each is shown once in the legend */
  shades?: ChartShade[];
  /** horizontal reference lines, e.g. a capacity */
  hlines?: Array<{ y: number; label: string; color: string }>;
  /** fixed top of the y axis, so charts stacked together share a scale */
  yMax?: number;
  width?: number;
  height?: number;
}

const MARGIN = { top: 48, right: 24, bottom: 56, left: 72 };

/** Tick positions at a 1/2/5 × 10^k step, about `count` of them from 0 to past max. */
export function niceTicks(max: number, count = 6): number[] {
  const top = max > 0 ? max : 1;
  const raw = top / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let v = 0; v < top + step - 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

export function lineChartSvg(chart: LineChart): string {
  const width = chart.width ?? 960;
  const height = chart.height ?? 440;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const all = chart.series.flatMap((s) => s.points);
  const xTicks = niceTicks(Math.max(...all.map(([x]) => x), chart.shade?.to ?? 0, 1), 10);
  const yTicks = niceTicks(chart.yMax ?? Math.max(...all.map(([, y]) => y), ...(chart.hlines ?? []).map((h) => h.y), 1), 6);
  const xMax = xTicks[xTicks.length - 1] as number;
  const yMax = yTicks[yTicks.length - 1] as number;
  const px = (x: number) => MARGIN.left + (x / xMax) * plotW;
  const py = (y: number) => MARGIN.top + plotH - (y / yMax) * plotH;
  const f = (n: number) => n.toFixed(1);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(chart.title)}</text>`);
  if (chart.shade) {
    const x0 = px(chart.shade.from);
    const x1 = px(chart.shade.to);
    out.push(`<rect x="${f(x0)}" y="${MARGIN.top}" width="${f(x1 - x0)}" height="${plotH}" fill="#f4a6a6" fill-opacity="0.35"/>`);
    out.push(`<text x="${f((x0 + x1) / 2)}" y="${MARGIN.top + 14}" text-anchor="middle" fill="#a33">${escapeXml(chart.shade.label)}</text>`);
  }
  for (const s of chart.shades ?? []) {
    const x0 = px(s.from);
    const x1 = px(s.to);
    out.push(`<rect x="${f(x0)}" y="${MARGIN.top}" width="${f(Math.max(1, x1 - x0))}" height="${plotH}" fill="${s.color ?? '#fdd49e'}" fill-opacity="0.5"/>`);
  }
  for (const y of yTicks) {
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${f(py(y))}" y2="${f(py(y))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${MARGIN.left - 8}" y="${f(py(y) + 4)}" text-anchor="end">${y}</text>`);
  }
  for (const x of xTicks) {
    out.push(`<line x1="${f(px(x))}" x2="${f(px(x))}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 5}" stroke="black"/>`);
    out.push(`<text x="${f(px(x))}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${x}</text>`);
  }
  // axes
  out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="black"/>`);
  out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="black"/>`);
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 14}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  out.push(
    `<text x="18" y="${MARGIN.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 18 ${MARGIN.top + plotH / 2})">${escapeXml(chart.yLabel)}</text>`,
  );
  for (const h of chart.hlines ?? []) {
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${f(py(h.y))}" y2="${f(py(h.y))}" stroke="${h.color}" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${MARGIN.left + 6}" y="${f(py(h.y) - 4)}" fill="${h.color}">${escapeXml(h.label)}</text>`);
  }
  for (const s of chart.series) {
    const points = s.points.map(([x, y]) => `${f(px(Math.min(x, xMax)))},${f(py(Math.min(y, yMax)))}`).join(' ');
    const dash = s.dashed ? ' stroke-dasharray="4 3"' : '';
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${points}"/>`);
  }
  // legend, top right inside the plot, on a white box wide enough for the longest name
  const shadeKeys = [...new Map((chart.shades ?? []).map((s) => [s.label, s.color ?? '#fdd49e'])).entries()];
  const entries = [
    ...chart.series.map((s) => ({ name: s.name, color: s.color, box: false })),
    ...shadeKeys.map(([name, color]) => ({ name, color, box: true })),
  ];
  const legendW = 44 + 7 * Math.max(...entries.map((e) => e.name.length));
  const legendX = MARGIN.left + plotW - legendW - 8;
  out.push(`<rect x="${legendX}" y="${MARGIN.top + 26}" width="${legendW}" height="${entries.length * 18 + 8}" fill="white" fill-opacity="0.9" stroke="#ccc"/>`);
  entries.forEach((e, i) => {
    const y = MARGIN.top + 44 + i * 18;
    const x = legendX + 8;
    if (e.box) out.push(`<rect x="${x}" y="${y - 10}" width="24" height="10" fill="${e.color}" fill-opacity="0.5"/>`);
    else out.push(`<line x1="${x}" x2="${x + 24}" y1="${y - 4}" y2="${y - 4}" stroke="${e.color}" stroke-width="3"/>`);
    out.push(`<text x="${x + 30}" y="${y}">${escapeXml(e.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The width and height an SVG of ours declares on its root element. */
export function svgSize(svg: string): { width: number; height: number } {
  return { width: Number(/width="(\d+)"/.exec(svg)?.[1] ?? 960), height: Number(/height="(\d+)"/.exec(svg)?.[1] ?? 440) };
}

/** Charts one above the other in one SVG, each keeping its own size. */
export function stackedSvg(charts: string[], gap = 8): string {
  const sizes = charts.map(svgSize);
  const width = Math.max(...sizes.map((s) => s.width));
  const height = sizes.reduce((sum, s) => sum + s.height, 0) + gap * (charts.length - 1);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`];
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  let y = 0;
  charts.forEach((svg, i) => {
    // a nested <svg> keeps each chart's own coordinates
    out.push(svg.trim().replace('<svg ', `<svg x="0" y="${y}" `));
    y += (sizes[i] as { height: number }).height + gap;
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

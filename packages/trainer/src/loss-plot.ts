/** One line on a panel: (step, value) points in step order. */
export interface PlotSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface PlotPanel {
  title: string;
  series: PlotSeries[];
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
const WIDTH = 720;
const PANEL_HEIGHT = 280;
const MARGIN = { left: 64, right: 16, top: 32, bottom: 40 };

/** About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError(`niceTicks: bounds must be finite, got [${lo}, ${hi}]`);
  if (hi <= lo) return [lo];
  const rough = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  // Round the rough step to the nearest of 1, 2, 5, 10 (× 10^k), as Heckbert's "nice numbers".
  const r = rough / magnitude;
  const step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * magnitude;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function formatTick(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e5 || abs < 1e-3) return value.toExponential(1);
  return String(Number(value.toPrecision(4)));
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function renderPanel(panel: PlotPanel, top: number): string {
  const points = panel.series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const out: string[] = [`<text x="${WIDTH / 2}" y="${top + 20}" text-anchor="middle" font-weight="bold">${escapeXml(panel.title)}</text>`];
  if (points.length === 0) {
    out.push(`<text x="${WIDTH / 2}" y="${top + PANEL_HEIGHT / 2}" text-anchor="middle">no data</text>`);
    return out.join('\n');
  }
  // 1) data ranges, padded so a flat line or a single point still has an axis
  let [xMin, xMax] = [Math.min(...points.map((p) => p[0])), Math.max(...points.map((p) => p[0]))];
  let [yMin, yMax] = [Math.min(...points.map((p) => p[1])), Math.max(...points.map((p) => p[1]))];
  if (xMax === xMin) [xMin, xMax] = [xMin - 1, xMax + 1];
  if (yMax === yMin) [yMin, yMax] = [yMin - Math.abs(yMin || 1) * 0.1, yMax + Math.abs(yMax || 1) * 0.1];
  // 2) plot area and scales
  const x0 = MARGIN.left;
  const x1 = WIDTH - MARGIN.right;
  const y0 = top + PANEL_HEIGHT - MARGIN.bottom;
  const y1 = top + MARGIN.top;
  const sx = (x: number) => (x0 + ((x - xMin) / (xMax - xMin)) * (x1 - x0)).toFixed(1);
  const sy = (y: number) => (y0 - ((y - yMin) / (yMax - yMin)) * (y0 - y1)).toFixed(1);
  // 3) axes, ticks and grid
  out.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#333"/>`);
  for (const t of niceTicks(xMin, xMax, 6)) {
    out.push(`<line x1="${sx(t)}" y1="${y0}" x2="${sx(t)}" y2="${y0 + 5}" stroke="#333"/>`);
    out.push(`<text x="${sx(t)}" y="${y0 + 18}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  for (const t of niceTicks(yMin, yMax, 5)) {
    out.push(`<line x1="${x0}" y1="${sy(t)}" x2="${x1}" y2="${sy(t)}" stroke="#ddd"/>`);
    out.push(`<text x="${x0 - 6}" y="${sy(t)}" text-anchor="end" dominant-baseline="middle">${formatTick(t)}</text>`);
  }
  out.push(`<text x="${(x0 + x1) / 2}" y="${y0 + 34}" text-anchor="middle">optimizer step</text>`);
  // 4) one polyline per series (plus dots, so a single evaluation is visible), then the legend
  panel.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.map(([x, y]) => `${sx(x)},${sy(y)}`).join(' ')}"/>`);
    if (pts.length <= 50) for (const [x, y] of pts) out.push(`<circle cx="${sx(x)}" cy="${sy(y)}" r="2.5" fill="${color}"/>`);
    const ly = y1 + 14 + 16 * i;
    out.push(`<line x1="${x1 - 120}" y1="${ly}" x2="${x1 - 100}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${x1 - 94}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  return out.join('\n');
}

/** A standalone SVG with one panel per entry, stacked vertically; no dependencies. */
export function renderLossPlot(panels: PlotPanel[]): string {
  const height = PANEL_HEIGHT * Math.max(1, panels.length);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    ...panels.map((p, i) => renderPanel(p, i * PANEL_HEIGHT)),
    '</svg>',
    '',
  ].join('\n');
}

import { describe, expect, it } from 'vitest';
import { niceTicks, renderLossPlot } from './loss-plot';

describe('niceTicks', () => {
  it.each([
    [0, 10, 5, [0, 2, 4, 6, 8, 10]],
    [0, 1, 5, [0, 0.2, 0.4, 0.6, 0.8, 1]],
    [0.31, 2.7, 5, [0.5, 1, 1.5, 2, 2.5]],
    [1, 1000, 4, [200, 400, 600, 800, 1000]],
    [-3, 3, 6, [-3, -2, -1, 0, 1, 2, 3]],
    [5, 5, 5, [5]],
  ])('[%f, %f] in about %i ticks → %j', (lo, hi, count, ticks) => {
    expect(niceTicks(lo, hi, count)).toEqual(ticks);
  });

  it('rejects non-finite bounds', () => {
    expect(() => niceTicks(0, Infinity)).toThrow(/niceTicks: bounds must be finite, got \[0, Infinity\]/);
  });
});

describe('renderLossPlot', () => {
  const svg = renderLossPlot([
    {
      title: 'loss',
      series: [
        { name: 'train loss', points: [[1, 2], [2, 1.5], [3, 1], [4, 0.8]] },
        { name: 'dev loss', points: [[2, 1.7], [4, 1.1]] },
      ],
    },
    { title: 'dev f1 <&>', series: [{ name: 'dev f1', points: [[2, 0.5]] }] },
    { title: 'empty', series: [] },
  ]);

  it('is one standalone SVG with a panel per entry, stacked', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="720" height="840"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<rect x=/g)).toHaveLength(2); // plot frames for the two panels with data
    expect(svg).toContain('>no data</text>');
  });

  it('draws one polyline per series with the points scaled into the frame, and a legend', () => {
    const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));
    expect(lines.map((l) => l.length)).toEqual([4, 2, 1]);
    // x: steps 1..4 span the frame from x=64 to x=704; y: the max (2) at the top y=32, the min (0.8) at the bottom y=240
    expect(lines[0][0]).toEqual([64, 32]);
    expect(lines[0][3]).toEqual([704, 240]);
    expect(svg).toContain('>train loss</text>');
    expect(svg).toContain('>dev loss</text>');
    expect(svg).toContain('>optimizer step</text>');
  });

  it('labels ticks and escapes titles', () => {
    for (const tick of ['>1</text>', '>1.5</text>', '>2</text>']) expect(svg).toContain(tick);
    expect(svg).toContain('dev f1 &lt;&amp;&gt;');
  });
});

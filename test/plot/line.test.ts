import { lineChart, linePanels } from '../../lib/plot/line';

describe('line charts', () => {
  it('reference series are dashed lines without markers', () => {
    const series = [
      { name: 'a', x: [1], y: [2] },
      { name: 'ref', x: [1], y: [3], reference: true },
    ];
    const spec = lineChart({ title: 't', xTitle: 'q', yTitle: 'acc', series });
    expect(spec.data.map((d) => d.mode)).toEqual(['lines+markers', 'lines']);
  });

  it('panels side by side share the y axis and list each series once in the legend', () => {
    const panels = [
      { title: 'A', series: [{ name: 'r', x: [0], y: [1] }] },
      { title: 'B', series: [{ name: 'r', x: [0], y: [2] }] },
    ];
    const lp = linePanels({ title: 't', xTitle: 'k', yTitle: 'v', panels });
    expect(lp.data.map((d) => d.showlegend)).toEqual([true, false]);
    expect(lp.data.map((d) => [d.xaxis, d.yaxis])).toEqual([
      ['x', 'y'],
      ['x2', 'y2'],
    ]);
    expect((lp.layout.yaxis2 as { matches: string }).matches).toBe('y');
  });
});

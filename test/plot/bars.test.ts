import { intervalBars } from '../../lib/plot/bars';

describe('intervalBars', () => {
  test('one bar trace per series with asymmetric whiskers, references as dashed lines', () => {
    const spec = intervalBars({
      title: 't',
      yTitle: 'y',
      categories: ['a', 'b'],
      series: [{ name: 's', values: [0.5, 0.8], low: [0.4, 0.7], high: [0.7, 0.85] }],
      references: [{ name: 'chance', y: 0.25 }],
    });
    expect(spec.data).toHaveLength(2);
    const e = spec.data[0].error_y as { array: number[]; arrayminus: number[] };
    expect(e.array.map((v) => +v.toFixed(10))).toEqual([0.2, 0.05]);
    expect(e.arrayminus.map((v) => +v.toFixed(10))).toEqual([0.1, 0.1]);
    expect(spec.data[1].y).toEqual([0.25, 0.25]);
  });

  test('a series of the wrong length says what it needs', () => {
    expect(() =>
      intervalBars({ title: 't', yTitle: 'y', categories: ['a'], series: [{ name: 's', values: [1, 2], low: [1], high: [1] }] }),
    ).toThrow(/series "s" needs 1 values/);
  });
});

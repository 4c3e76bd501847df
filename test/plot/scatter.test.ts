import { identityScatter } from '../../lib/plot/scatter';

describe('identityScatter', () => {
  it('draws the identity line over the range of every finite x and y', () => {
    const sets = [
      { name: 's', x: [0, 2], y: [1, 3] },
      { name: 'u', x: [NaN], y: [-1] },
    ];
    const sc = identityScatter({ title: 't', xTitle: 'x', yTitle: 'y', sets });
    expect(sc.data.map((d) => d.name)).toEqual(['s', 'u', 'y = x']);
    expect(sc.data[2].x).toEqual([-1, 3]);
    expect(sc.data[2].y).toEqual([-1, 3]);
  });
});

import { evidenceRaster, identityScatter, linePanels, panelRaster, rasterFigure } from '../../lib/plot/bagnet';

describe('BagNet figure builders', () => {
  it('evidence heatmaps are symmetric around 0 (RdBu_r: 0 is near white, sign picks red or blue)', () => {
    const r = evidenceRaster([-2, 0, 2, 1], 4, 1, 100);
    const px = (i: number) => Array.from(r.data.subarray(i * 3, i * 3 + 3));
    expect(px(1)).toEqual([247, 247, 247]);
    expect(px(2)[0]).toBeGreaterThan(px(2)[2]); // positive: red
    expect(px(0)[2]).toBeGreaterThan(px(0)[0]); // negative: blue
  });

  it('panels upscale cells to a common size and report label positions', () => {
    const img = { width: 4, height: 4, channels: 1, data: new Uint8Array(16).fill(100) };
    const { raster, colCentres, rowCentres } = panelRaster([[{ image: img }, { heat: [1, -1, 0, 0], width: 2, height: 2 }]], 2, 2);
    // two 8x8 cells with 2 px padding: 2 + 8 + 2 + 8 + 2 = 22 wide, 12 high.
    expect([raster.width, raster.height]).toEqual([22, 12]);
    expect(colCentres).toEqual([6, 16]);
    expect(rowCentres).toEqual([6]);
  });

  it('specs: one image trace with a PNG data URI; scatter with identity line; panels with linked axes', () => {
    const spec = rasterFigure({ title: 't', png: new Uint8Array([1, 2, 3]), width: 10, height: 5, colLabels: [{ x: 5, text: 'a' }] });
    expect(spec.data[0].type).toBe('image');
    expect(String(spec.data[0].source)).toMatch(/^data:image\/png;base64,/);
    const sc = identityScatter({ title: 't', xTitle: 'x', yTitle: 'y', sets: [{ name: 's', x: [0, 2], y: [1, 3] }] });
    expect(sc.data[1].x).toEqual([0, 3]);
    const lp = linePanels({ title: 't', xTitle: 'k', yTitle: 'v', panels: [{ title: 'A', series: [{ name: 'r', x: [0], y: [1] }] }, { title: 'B', series: [{ name: 'r', x: [0], y: [2] }] }] });
    expect(lp.data.map((d) => d.showlegend)).toEqual([true, false]);
    expect((lp.layout.yaxis2 as { matches: string }).matches).toBe('y');
  });
});

import { Heatmaps, MapGeometry, windowGeometry } from '../../lib/explain/heatmaps';
import { boundaryPixels, colormap, raster, Raster } from '../../lib/plot/images';
import { evidenceRaster, labelledPanels, PanelCell, panelRaster, rasterFigure } from '../../lib/plot/panels';

/** Pixel (x, y) of an RGB raster. */
const px = (r: Raster, x: number, y: number) => Array.from(r.data.subarray((y * r.width + x) * 3, (y * r.width + x) * 3 + 3));
/** A 0/1 plane [rows * w] as rows of strings, for readable expectations. */
const rows01 = (bits: ArrayLike<number>, w: number) =>
  Array.from({ length: bits.length / w }, (_, y) =>
    Array.from(bits)
      .slice(y * w, (y + 1) * w)
      .join(''),
  );
/** The pixels of `r` equal to `colour`, as rows01. */
const where = (r: Raster, colour: readonly number[]) =>
  rows01(
    Array.from({ length: r.width * r.height }, (_, p) => +(px(r, p % r.width, Math.floor(p / r.width)).join() === colour.join())),
    r.width,
  );

/** One signed map of `values` ([height, width]) explaining an 8x8 image. */
function maps(values: number[], height: number, width: number, geometry: MapGeometry): Heatmaps {
  const image = { imageHeight: 8, imageWidth: 8 };
  return { method: 't', n: 1, height, width, ...image, targets: [0], geometry, signed: true, values: Float32Array.from(values) };
}

/** A one-cell panel at magnification `scale` without padding: the cell's raster itself. */
const single = (cell: PanelCell, scale = 1) => panelRaster([[cell]], scale, 0).raster;

describe('labelled panels', () => {
  it('evidence heatmaps are symmetric around 0 (RdBu_r: 0 is near white, sign picks red or blue)', () => {
    const r = evidenceRaster([-2, 0, 2, 1], 4, 1, 100);
    expect(px(r, 1, 0)).toEqual([247, 247, 247]);
    expect(px(r, 2, 0)[0]).toBeGreaterThan(px(r, 2, 0)[2]); // positive: red
    expect(px(r, 0, 0)[2]).toBeGreaterThan(px(r, 0, 0)[0]); // negative: blue
  });

  it('upscale cells to a common size and report label positions', () => {
    const img = { width: 4, height: 4, channels: 1, data: new Uint8Array(16).fill(100) };
    const rows = [[{ image: img }, { heat: [1, -1, 0, 0], width: 2, height: 2 }], [{ image: img }]];
    const { raster: r, colCentres, rowCentres } = panelRaster(rows, 2, 2);
    // Two 8x8 cells per row with 2 px padding: 2 + 8 + 2 + 8 + 2 = 22 wide; two rows: 22 high; the short row's gap is white.
    expect([r.width, r.height]).toEqual([22, 22]);
    expect(colCentres).toEqual([6, 16]);
    expect(rowCentres).toEqual([6, 16]);
    expect(px(r, 16, 16)).toEqual([255, 255, 255]);
  });

  it('a 2x2 map with 4 px fields every 4 px fills the quadrants of its 8x8 image', () => {
    const cell = single({ maps: maps([2, -2, 1, 0], 2, 2, windowGeometry(4, 4)), index: 0, percentile: 100 });
    expect([cell.width, cell.height]).toEqual([8, 8]);
    const quadrants = [
      [0, 0, colormap('RdBu_r', 1)], // top left: +2 of [-2, 2]
      [4, 0, colormap('RdBu_r', 0)], // top right: -2
      [0, 4, colormap('RdBu_r', 0.75)], // bottom left: +1
      [4, 4, colormap('RdBu_r', 0.5)], // bottom right: 0
    ] as const;
    for (const [x0, y0, colour] of quadrants) {
      for (let y = y0; y < y0 + 4; y++) for (let x = x0; x < x0 + 4; x++) expect(px(cell, x, y)).toEqual(colour);
    }
  });

  it('a coarse map covers only the tiles around its fields: neutral grey alone, the image under an overlay', () => {
    // Fields of 4 px every 2 px: centres 2 and 4, tiles [1, 3) and [3, 5) on both axes; rows/columns 0 and 5..7 uncovered.
    const h = maps([1, 1, 1, 1], 2, 2, windowGeometry(4, 2));
    const covered = ['00000000', '01111000', '01111000', '01111000', '01111000', '00000000', '00000000', '00000000'];
    const alone = single({ maps: h, index: 0 });
    expect(where(alone, colormap('RdBu_r', 1))).toEqual(covered);
    expect(where(alone, [200, 200, 200])).toEqual(covered.map((row) => row.replace(/./g, (c) => (c === '1' ? '0' : '1'))));
    const over = single({ maps: h, index: 0, image: raster(8, 8, 3, 50), alpha: 1 });
    expect(where(over, colormap('RdBu_r', 1))).toEqual(covered);
    expect(px(over, 0, 0)).toEqual([50, 50, 50]);
    expect(() => single({ maps: h, index: 0, image: raster(4, 4, 3) })).toThrow(/image is 4x4, the maps explain 8x8 images/);
  });

  it('a box lands on the pixels asked for, scaled with the cell and clipped to it', () => {
    const yellow = [255, 200, 0];
    // Image pixels [1, 3) x [1, 3) at magnification 2: the outline of output pixels [2, 6) x [2, 6).
    const boxed = single({ image: raster(4, 4, 3), boxes: [{ y0: 1, x0: 1, y1: 3, x1: 3 }] }, 2);
    expect(where(boxed, yellow)).toEqual(['00000000', '00000000', '00111100', '00100100', '00100100', '00111100', '00000000', '00000000']);
    // A field reaching past the image (start -2, size 4) shows as its visible part [0, 2) x [0, 2), all four sides drawn.
    const clipped = single({ image: raster(4, 4, 3), boxes: [{ y0: -2, x0: -2, y1: 2, x1: 2, colour: [9, 9, 9] }] });
    expect(where(clipped, [9, 9, 9])).toEqual(['1100', '1100', '0000', '0000']);
  });

  it('a contour has exactly the boundary pixels of a hand-drawn mask, 1 px thin when magnified', () => {
    const mask = [1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    // Inside pixels with an outside 4-neighbour, or on the image's edge.
    const expected = ['111000', '100100', '100100', '011100', '000000', '000000'];
    expect(rows01(boundaryPixels(mask, 6, 6), 6)).toEqual(expected);
    const drawn = single({ image: raster(6, 6, 3), contours: [{ mask }] });
    expect(where(drawn, [0, 200, 0])).toEqual(expected);
    // One pixel magnified 3 times is a 3x3 block whose outline leaves its centre.
    const big = single({ image: raster(3, 3, 3), contours: [{ mask: [0, 0, 0, 0, 1, 0, 0, 0, 0], colour: [9, 9, 9] }] }, 3);
    expect(where(big, [9, 9, 9]).slice(2, 7)).toEqual(['000000000', '000111000', '000101000', '000111000', '000000000']);
  });

  it('marks never draw into the caller’s image', () => {
    const img = raster(4, 4, 3);
    single({ image: img, boxes: [{ y0: 0, x0: 0, y1: 4, x1: 4 }] });
    expect(img.data.every((v) => v === 0)).toBe(true);
  });

  it('labels: column titles above the column centres, row labels left of the row centres', async () => {
    const spec = rasterFigure({ title: 't', png: new Uint8Array([1, 2, 3]), width: 10, height: 5, colLabels: [{ x: 5, text: 'a' }] });
    expect(spec.data[0].type).toBe('image');
    expect(String(spec.data[0].source)).toMatch(/^data:image\/png;base64,/);
    const img = raster(4, 4, 3);
    const rows = [[{ image: img }, { image: img }], [{ image: img }]];
    const fig = await labelledPanels({ title: 't', rows, colLabels: ['a', 'b'], rowLabels: ['r1', 'r2'], scale: 2, pad: 2 });
    const notes = fig.layout.annotations as { x: number; y: number; xref: string; yref: string; text: string }[];
    expect(notes.map((a) => [a.text, a.xref === 'x' ? a.x : a.y])).toEqual([
      ['a', 6],
      ['b', 16],
      ['r1', 6],
      ['r2', 16],
    ]);
    expect(fig.layout.xaxis).toEqual({ visible: false, range: [0, 22] });
  });
});

import { windowGeometry } from '../../lib/explain/heatmaps';
import { raster } from '../../lib/plot/images';
import { colourRange, overlayHeatmap } from '../../lib/plot/overlay';

describe('overlayHeatmap', () => {
  const image = raster(4, 4, 3, 100);
  const base = { method: 't', n: 1, imageHeight: 4, imageWidth: 4, targets: [0], signed: true, height: 1, width: 2 };

  it('colours each cell where its geometry puts it and leaves uncovered pixels as the image', () => {
    // Two 2x2 fields side by side in the top half: evidence for (left) and against (right); the bottom half is uncovered.
    const h = { ...base, geometry: windowGeometry(2, 2), values: Float32Array.from([1, -1]) };
    const out = overlayHeatmap(image, h, 0, { alpha: 1 });
    const px = (x: number, y: number) => Array.from(out.data.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3));
    const [r0, , b0] = px(0, 0);
    const [r1, , b1] = px(3, 1);
    expect(r0).toBeGreaterThan(b0); // red: for the class
    expect(b1).toBeGreaterThan(r1); // blue: against
    expect(px(0, 3)).toEqual([100, 100, 100]);
    expect(px(3, 2)).toEqual([100, 100, 100]);
  });

  it('refuses an image of another size than the maps explain', () => {
    const h = { ...base, geometry: windowGeometry(2, 2), values: Float32Array.from([1, -1]) };
    expect(() => overlayHeatmap(raster(5, 4, 3), h, 0)).toThrow(/image is 5x4, the maps explain 4x4 images/);
  });

  it('colour ranges: symmetric for signed maps, from 0 for unsigned, clipped at the percentile', () => {
    expect(colourRange([-2, 1, NaN], true, 100)).toEqual([-2, 2]);
    expect(colourRange([0.5, 1, 3], false, 100)).toEqual([0, 3]);
    expect(colourRange([1, 2, 3, 4], false, 50)).toEqual([0, 2]);
  });
});

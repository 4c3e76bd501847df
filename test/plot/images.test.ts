import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  blend,
  colormap,
  drawBox,
  fromBytes,
  fromFloats,
  grid,
  heatmap,
  overlayLabels,
  palette,
  readImage,
  toRgb,
  upscale,
  writePng,
} from '../../lib/plot/images';

describe('raster helpers', () => {
  test('grid places cells row-major with padding', () => {
    const a = fromBytes(new Uint8Array([10]), 1, 1, 1);
    const b = fromBytes(new Uint8Array([20, 21, 22]), 1, 1, 3);
    const g = grid([a, b, a], { cols: 2, pad: 1, background: 255 });
    expect([g.width, g.height, g.channels]).toEqual([5, 5, 3]);
    const px = (x: number, y: number) => Array.from(g.data.subarray((y * 5 + x) * 3, (y * 5 + x) * 3 + 3));
    expect(px(1, 1)).toEqual([10, 10, 10]);
    expect(px(3, 1)).toEqual([20, 21, 22]);
    expect(px(1, 3)).toEqual([10, 10, 10]);
    expect(px(3, 3)).toEqual([255, 255, 255]);
    expect(px(0, 0)).toEqual([255, 255, 255]);
  });

  test('upscale, toRgb, fromFloats', () => {
    const u = upscale(fromBytes(new Uint8Array([1, 2]), 2, 1, 1), 2);
    expect(Array.from(u.data)).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
    expect(Array.from(toRgb(fromBytes(new Uint8Array([7]), 1, 1, 1)).data)).toEqual([7, 7, 7]);
    expect(Array.from(fromFloats([0, 0.5, 1.2], 3, 1, 1).data)).toEqual([0, 128, 255]);
  });

  test('label overlays leave background alone and tint labelled pixels', () => {
    const img = fromBytes(new Uint8Array(4).fill(100), 2, 2, 1);
    const out = overlayLabels(img, new Uint8Array([0, 1, 0, 2]), {
      alpha: 0.5,
      colours: [
        [0, 0, 0],
        [200, 0, 0],
        [0, 0, 200],
      ],
    });
    expect(Array.from(out.data)).toEqual([100, 100, 100, 150, 50, 50, 100, 100, 100, 50, 50, 150]);
    const edges = overlayLabels(fromBytes(new Uint8Array(9).fill(0), 3, 3, 1), new Uint8Array(9).fill(1), {
      outline: true,
      colours: [
        [0, 0, 0],
        [9, 9, 9],
      ],
    });
    expect(edges.data[4 * 3]).toBe(0);
    expect(edges.data[0]).toBe(9);
  });

  test('colour maps and heatmaps', () => {
    expect(colormap('gray', 0.5)).toEqual([128, 128, 128]);
    expect(colormap('RdBu_r', 0.5)).toEqual([247, 247, 247]);
    expect(colormap('hot', 2)).toEqual([255, 255, 255]);
    const h = heatmap([-2, 0, 1, 2], 2, 2, { symmetric: true });
    expect(Array.from(h.data.subarray(3, 6))).toEqual([247, 247, 247]);
    expect(Array.from(h.data.subarray(0, 3))).toEqual([5, 48, 97]);
    expect(Array.from(heatmap([0, 1], 2, 1, { cmap: 'gray' }).data)).toEqual([0, 0, 0, 255, 255, 255]);
    expect(palette(20).length).toBe(20);
  });

  test('blend and boxes', () => {
    const a = fromBytes(new Uint8Array([0, 0, 0]), 1, 1, 3);
    const b = fromBytes(new Uint8Array([200, 100, 50]), 1, 1, 3);
    expect(Array.from(blend(a, b, 0.5).data)).toEqual([100, 50, 25]);
    const img = fromBytes(new Uint8Array(4 * 4 * 3), 4, 4, 3);
    drawBox(img, [1, 1, 3, 3], [255, 0, 0]);
    expect(img.data[(1 * 4 + 1) * 3]).toBe(255);
    expect(img.data[(2 * 4 + 2) * 3]).toBe(255);
    expect(img.data[(0 * 4 + 0) * 3]).toBe(0);
  });

  test('PNG round trip', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-png-'));
    const file = path.join(dir, 'x.png');
    const img = fromBytes(
      Uint8Array.from({ length: 2 * 3 * 3 }, (_, i) => i * 10),
      2,
      3,
      3,
    );
    await writePng(file, img);
    const back = await readImage(file);
    expect([back.width, back.height, back.channels]).toEqual([2, 3, 3]);
    expect(Array.from(back.data)).toEqual(Array.from(img.data));
    fs.rmSync(dir, { recursive: true });
  });
});

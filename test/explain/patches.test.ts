import * as tf from '@tensorflow/tfjs';
import { buildBagNet, BagNetConfig } from '../../lib/models/bagnet';
import {
  BagNetPatchLogits,
  bagnetGeometry,
  extractPatches,
  padColour,
  patchSweep,
  patchSweepLiteral,
  topPatches,
} from '../../lib/explain/patches';
import { scrambleTilesBytes } from '../../lib/data/transforms';
import { Rng } from '../../lib/util/rng';
import { std } from '../../lib/analysis/stats';
import { randomTensor } from '../models/helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Every class's patch-logit map as a tensor [n,h,w,K] (what the BagNet averages). */
function patchLogits(model: tf.LayersModel, x: tf.Tensor4D): tf.Tensor4D {
  const m = new BagNetPatchLogits(model).allClasses(x);
  return tf.tensor4d(m.values, [m.n, m.height, m.width, m.classes]);
}

const tiny = (q: number): BagNetConfig => ({ family: 'bagnet', q, widths: [4, 4, 4], expansion: 2 });

/** A tiny BagNet with its seeded glorot weights and identity BatchNorm statistics (about half the ReLUs active). */
function tinyBagNet(q: number, size: number, channels = 2, classes = 3, seed = 1) {
  const config = tiny(q);
  const model = buildBagNet(config, { inputShape: [size, size, channels], numClasses: classes }, new Rng(seed));
  return { model, config };
}

describe('BagNet patch evidence', () => {
  it('image logits are exactly the mean of the patch logits', () => {
    const bag = tinyBagNet(9, 20);
    const x = randomTensor([3, 20, 20, 2], 5) as tf.Tensor4D;
    const logits = bag.model.predict(x) as tf.Tensor2D;
    const maps = patchLogits(bag.model, x);
    const mean = tf.mean(maps, [1, 2]);
    expect(maps.shape.slice(1, 3)).toEqual([3, 3]);
    const a = logits.dataSync();
    const b = mean.dataSync();
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 5);
  });

  it('geometry: q from the receptive field, jump 4 with strides [2,2,1]', () => {
    expect(bagnetGeometry(tinyBagNet(9, 20).model)).toEqual({ q: 9, jump: 4, start: 0 });
    expect(bagnetGeometry(tinyBagNet(5, 20).model)).toEqual({ q: 5, jump: 4, start: 0 });
  });

  it('extractPatches zero-pads around the centre pixel', () => {
    // 3x3 single-channel image 1..9, q = 3 at the corner (0,0): top row and left column are padding.
    const img = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(extractPatches(img, 3, 3, 1, 3, [[0, 0]]))).toEqual([0, 0, 0, 0, 1, 2, 0, 4, 5]);
    expect(Array.from(extractPatches(img, 3, 3, 1, 3, [[1, 1]]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('extractPatches pads with the fill colour; padColour is the per-channel mean (or black)', () => {
    // 2x1 image, two channels: pixels (0.2, 1) and (0.4, 0): mean (0.3, 0.5).
    const img = Float32Array.from([0.2, 1, 0.4, 0]);
    const mean = padColour(img, 2, 'mean');
    expect(mean[0]).toBeCloseTo(0.3, 6);
    expect(mean[1]).toBeCloseTo(0.5, 6);
    expect(Array.from(padColour(img, 2, 'zero'))).toEqual([0, 0]);
    // q = 3 around pixel (0, 0) of the 2x1 image: only the centre (1,1) and the pixel below it (2,1) are inside.
    const p = Array.from(extractPatches(img, 2, 1, 2, 3, [[0, 0]], [9, 8]));
    expect(p).toEqual([9, 8, 9, 8, 9, 8, 9, 8, 0.2, 1, 9, 8, 9, 8, 0.4, 0, 9, 8].map((v) => Math.fround(v)));
  });

  it.each(['mean', 'zero'] as const)('the fast sweep equals the literal one with %s padding', (pad) => {
    const bag = tinyBagNet(9, 10);
    const x = randomTensor([2, 10, 10, 2], 3) as tf.Tensor4D;
    const fast = patchSweep(bag, x, 32, pad).dataSync();
    const slow = patchSweepLiteral(bag, x, 1024, pad).dataSync();
    let maxErr = 0;
    for (let i = 0; i < fast.length; i++) maxErr = Math.max(maxErr, Math.abs(fast[i] - slow[i]));
    expect(maxErr).toBeLessThan(1e-4);
  });

  it('mean padding changes the border of the sweep, not the pixels whose patch lies inside the image', () => {
    const q = 5;
    const bag = tinyBagNet(q, 12);
    const x = randomTensor([1, 12, 12, 2], 5) as tf.Tensor4D;
    const a = patchSweep(bag, x, 32, 'mean').dataSync();
    const b = patchSweep(bag, x, 32, 'zero').dataSync();
    const K = a.length / 144;
    const r = (q - 1) / 2;
    let inside = 0;
    let border = 0;
    for (let y = 0; y < 12; y++)
      for (let xx = 0; xx < 12; xx++)
        for (let k = 0; k < K; k++) {
          const d = Math.abs(a[(y * 12 + xx) * K + k] - b[(y * 12 + xx) * K + k]);
          if (y >= r && y < 12 - r && xx >= r && xx < 12 - r) inside = Math.max(inside, d);
          else border = Math.max(border, d);
        }
    expect(inside).toBeLessThan(1e-5);
    expect(border).toBeGreaterThan(1e-3);
  });

  it.each([5, 9])('the fast sweep equals the BagNet run on every padded q x q patch (q=%i)', (q) => {
    const bag = tinyBagNet(q, 10);
    const x = randomTensor([1, 10, 10, 2], 7) as tf.Tensor4D;
    const fast = patchSweep(bag, x).dataSync();
    const slow = patchSweepLiteral(bag, x).dataSync();
    expect(fast.length).toBe(10 * 10 * 3);
    expect(std(fast)).toBeGreaterThan(0.05); // a live heatmap, not a constant
    let maxErr = 0;
    for (let i = 0; i < fast.length; i++) maxErr = Math.max(maxErr, Math.abs(fast[i] - slow[i]));
    expect(maxErr).toBeLessThan(1e-4);
  });

  it('the sweep at a patch-grid pixel equals the patch-logit map there', () => {
    const q = 5;
    const bag = tinyBagNet(q, 13);
    const x = randomTensor([1, 13, 13, 2], 9) as tf.Tensor4D;
    const sweep = patchSweep(bag, x).dataSync();
    const map = patchLogits(bag.model, x);
    const [, mh, mw, K] = map.shape;
    const m = map.dataSync();
    const r = (q - 1) / 2;
    for (let i = 0; i < mh; i++)
      for (let j = 0; j < mw; j++)
        for (let k = 0; k < K; k++) expect(sweep[((4 * i + r) * 13 + 4 * j + r) * K + k]).toBeCloseTo(m[(i * mw + j) * K + k], 4);
  });

  it('scrambling tiles that are multiples of the patch stride keeps the multiset of in-tile patch logits', () => {
    const q = 5;
    const size = 16;
    const t = 8;
    const bag = tinyBagNet(q, size, 1, 2);
    const img = randomTensor([1, size, size, 1], 3).dataSync() as Float32Array;
    const perm = new Rng(4).permutation(4);
    const scrambled = scrambleTilesBytes(img, size, size, 1, t, perm);
    const inTile = (x: Float32Array) => {
      const map = patchLogits(bag.model, tf.tensor4d(x, [1, size, size, 1]));
      const [, mh, mw, K] = map.shape;
      const v = map.dataSync();
      const vals: number[] = [];
      for (let i = 0; i < mh; i++)
        for (let j = 0; j < mw; j++) {
          const y0 = 4 * i;
          const x0 = 4 * j;
          if (Math.floor(y0 / t) === Math.floor((y0 + q - 1) / t) && Math.floor(x0 / t) === Math.floor((x0 + q - 1) / t))
            vals.push(v[(i * mw + j) * K]);
        }
      return vals.sort((a, b) => a - b);
    };
    const a = inTile(img);
    const b = inTile(scrambled);
    expect(a.length).toBeGreaterThan(0);
    expect(std(a)).toBeGreaterThan(1e-3);
    expect(b.length).toBe(a.length);
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 5));
  });

  it('topPatches maps map units to image corners and sorts by score', () => {
    const scores = Float32Array.from([0, 5, 1, 2, /* image 1 */ 7, 0, 0, 3]);
    const top = topPatches(scores, 2, 2, 2, { q: 9, jump: 4, start: 0 }, 3);
    expect(top).toEqual([
      { image: 1, y0: 0, x0: 0, size: 9, score: 7 },
      { image: 0, y0: 0, x0: 4, size: 9, score: 5 },
      { image: 1, y0: 4, x0: 4, size: 9, score: 3 },
    ]);
  });
});

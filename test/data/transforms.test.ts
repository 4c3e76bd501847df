import * as tf from '@tensorflow/tfjs';
import {
  affineAugment,
  affineParams,
  centreCrop,
  circularShift,
  flipHorizontal,
  flipVertical,
  gaussianBlur,
  gaussianKernel1d,
  occlude,
  randomCrop,
  randomFlip,
  scrambleTiles,
  scrambleTilesBytes,
  shift,
} from '../../lib/data/transforms';
import { Rng } from '../../lib/util/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A [1,h,w,1] image with value = row*w + col. */
function ramp(h: number, w: number): tf.Tensor4D {
  return tf.tensor4d(
    Array.from({ length: h * w }, (_, i) => i),
    [1, h, w, 1],
  );
}
const flat = (t: tf.Tensor) => Array.from(t.dataSync());

describe('tile scrambling', () => {
  test('moves whole tiles by the permutation; remainder stays', () => {
    // 4x5 image, 2x2 tiles: 2x2 full tiles, last column stays.
    const img = Uint8Array.from({ length: 20 }, (_, i) => i);
    const out = scrambleTilesBytes(img, 4, 5, 1, 2, [3, 2, 1, 0]);
    expect(Array.from(out)).toEqual([12, 13, 10, 11, 4, 17, 18, 15, 16, 9, 2, 3, 0, 1, 14, 7, 8, 5, 6, 19]);
  });

  test('per-image permutations from the rng; same seed same result; multiset of values kept', () => {
    const x = tf.concat([ramp(4, 4), ramp(4, 4)]) as tf.Tensor4D;
    const a = scrambleTiles(x, 2, new Rng(1));
    const b = scrambleTiles(x, 2, new Rng(1));
    expect(flat(a)).toEqual(flat(b));
    const v = flat(a);
    expect(v.slice(0, 16).sort((p, q) => p - q)).toEqual(flat(ramp(4, 4)));
    // tile size 1 is a pixel shuffle, tile = side is the identity.
    expect(flat(scrambleTiles(ramp(4, 4), 4, new Rng(2)))).toEqual(flat(ramp(4, 4)));
  });
});

describe('blur and occlusion', () => {
  test('gaussian kernel is normalised and symmetric', () => {
    const k = gaussianKernel1d(1, 2);
    expect(k.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    expect(k[0]).toBeCloseTo(k[4], 7);
    expect(k[1] / k[2]).toBeCloseTo(Math.exp(-0.5), 6);
  });

  test('blur: a constant stays constant; an impulse becomes the outer product of the kernel', () => {
    const c = gaussianBlur(tf.fill([1, 5, 5, 2], 0.3) as tf.Tensor4D, 1);
    flat(c).forEach((v) => expect(v).toBeCloseTo(0.3, 5));
    const imp = tf.buffer([1, 9, 9, 1]);
    imp.set(1, 0, 4, 4, 0);
    const out = gaussianBlur(imp.toTensor() as tf.Tensor4D, 1, 2).dataSync();
    const k = gaussianKernel1d(1, 2);
    expect(out[4 * 9 + 4]).toBeCloseTo(k[2] * k[2], 6);
    expect(out[3 * 9 + 5]).toBeCloseTo(k[1] * k[3], 6);
    expect(out[0]).toBeCloseTo(0, 7);
  });

  test('occlusion fills: mean, zero, noise, blur', () => {
    const x = tf.tensor4d([0, 1, 2, 3, 4, 5, 6, 7, 8], [1, 3, 3, 1]).div(8) as tf.Tensor4D;
    const patch = [{ x: 1, y: 1, width: 2, height: 5 }];
    expect(flat(occlude(x, patch, 'zero')).map((v) => v * 8)).toEqual([0, 1, 2, 3, 0, 0, 6, 0, 0]);
    expect(flat(occlude(x, patch, 'mean')).map((v) => Math.round(v * 8 * 1000) / 1000)).toEqual([0, 1, 2, 3, 4, 4, 6, 4, 4]);
    expect(flat(occlude(x, patch, 'constant', { value: 0.5 })).map((v) => v * 8)).toEqual([0, 1, 2, 3, 4, 4, 6, 4, 4]);
    const n1 = flat(occlude(x, patch, 'noise', { rng: new Rng(3) }));
    const n2 = flat(occlude(x, patch, 'noise', { rng: new Rng(3) }));
    expect(n1).toEqual(n2);
    expect(n1[0]).toBe(0);
    const blurred = flat(gaussianBlur(x, 0.7));
    const b = flat(occlude(x, patch, 'blur', { sigma: 0.7 }));
    expect(b[4]).toBeCloseTo(blurred[4], 6);
    expect(b[0]).toBe(0);
    // Per-image patch lists.
    const two = tf.concat([x, x]) as tf.Tensor4D;
    const per = flat(occlude(two, [[{ x: 0, y: 0, width: 1, height: 1 }], []], 'zero'));
    expect(per[0]).toBe(0);
    expect(per[9]).toBe(0);
    expect(per[10]).toBeCloseTo(1 / 8);
  });
});

describe('crops, shifts, flips', () => {
  test('centre and random crops', () => {
    expect(flat(centreCrop(ramp(4, 4), 2))).toEqual([5, 6, 9, 10]);
    expect(flat(centreCrop(ramp(5, 5), 2))).toEqual([6, 7, 11, 12]);
    const { x, offsets } = randomCrop(tf.concat([ramp(4, 4), ramp(4, 4)]) as tf.Tensor4D, 3, new Rng(5));
    expect(x.shape).toEqual([2, 3, 3, 1]);
    const [ox, oy] = offsets[1];
    expect(flat(x)[9]).toBe(oy * 4 + ox);
    expect(randomCrop(ramp(4, 4), 3, new Rng(5)).offsets[0]).toEqual(offsets[0]);
  });

  test('integer shift with fill, exact', () => {
    expect(flat(shift(ramp(3, 3), 1, 0, -1))).toEqual([-1, 0, 1, -1, 3, 4, -1, 6, 7]);
    expect(flat(shift(ramp(3, 3), -1, -2, 9))).toEqual([7, 8, 9, 9, 9, 9, 9, 9, 9]);
    expect(flat(shift(ramp(3, 3), 3, 0, 2))).toEqual(new Array(9).fill(2));
    expect(flat(shift(ramp(3, 3), 0, 0))).toEqual(flat(ramp(3, 3)));
  });

  test('circular shift is a roll', () => {
    expect(flat(circularShift(ramp(3, 3), 1, 0))).toEqual([2, 0, 1, 5, 3, 4, 8, 6, 7]);
    expect(flat(circularShift(ramp(3, 3), 0, -1))).toEqual([3, 4, 5, 6, 7, 8, 0, 1, 2]);
    expect(flat(circularShift(ramp(3, 3), 4, 3))).toEqual(flat(circularShift(ramp(3, 3), 1, 0)));
  });

  test('flips', () => {
    expect(flat(flipHorizontal(ramp(2, 3)))).toEqual([2, 1, 0, 5, 4, 3]);
    expect(flat(flipVertical(ramp(2, 3)))).toEqual([3, 4, 5, 0, 1, 2]);
    const { x, flipped } = randomFlip(tf.concat([ramp(2, 2), ramp(2, 2), ramp(2, 2), ramp(2, 2)]) as tf.Tensor4D, new Rng(9));
    const v = flat(x);
    flipped.forEach((f, i) => expect(v.slice(i * 4, i * 4 + 4)).toEqual(f ? [1, 0, 3, 2] : [0, 1, 2, 3]));
  });
});

describe('affine augmentation', () => {
  test('identity parameters give the identity map; mirror gives a flip; 90 degrees rotates', () => {
    expect(affineParams(4, 4, 0, 1, 0, 0).map((v) => v + 0)).toEqual([1, 0, 0, 0, 1, 0, 0, 0]);
    const x = ramp(3, 3);
    const t = (p: number[]) => flat(tf.image.transform(x, tf.tensor2d(p, [1, 8]), 'nearest', 'constant', 0));
    expect(t(affineParams(3, 3, 0, 1, 0, 0, true))).toEqual(flat(flipHorizontal(x)));
    expect(t(affineParams(3, 3, 0, 1, 1, 0))).toEqual(flat(shift(x, 1, 0, 0)));
    // A 90 degree rotation (clockwise on screen, y down) of a 3x3 ramp.
    expect(t(affineParams(3, 3, Math.PI / 2, 1, 0, 0)).map((v) => Math.round(v))).toEqual([6, 3, 0, 7, 4, 1, 8, 5, 2]);
  });

  test('zero ranges leave images unchanged; seeded and shape-preserving otherwise', () => {
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const same = affineAugment(x, new Rng(1), { rotate: 0, scale: 0, translate: 0 });
    flat(same).forEach((v, i) => expect(v).toBeCloseTo(x.dataSync()[i], 5));
    const a = affineAugment(x, new Rng(2));
    expect(a.shape).toEqual([2, 8, 8, 3]);
    expect(flat(a)).toEqual(flat(affineAugment(x, new Rng(2))));
  });
});

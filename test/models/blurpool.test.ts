import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BlurFilter, blurKernel, blurPool, reflectPad, saveModel, loadModel } from '../../lib/models';
import { randomTensor } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ROWS: Record<BlurFilter, number[]> = { 'rect-2': [1, 1], 'tri-3': [1, 2, 1], 'tri-4': [1, 3, 3, 1], 'bin-5': [1, 4, 6, 4, 1] };

/** Literal BlurPool: reflect (or zero, when the map is too small) padding, then a strided weighted sum per channel. */
function literalBlur(x: number[][][], filter: BlurFilter, stride: number): number[][][] {
  const row = ROWS[filter];
  const k = row.length;
  const sum = row.reduce((a, b) => a + b, 0);
  const before = Math.floor((k - 1) / 2);
  const H = x.length;
  const W = x[0].length;
  const C = x[0][0].length;
  const at = (i: number, n: number, pad: number): number | null => {
    if (pad >= n) return i >= 0 && i < n ? i : null; // zero padding fallback
    if (i < 0) return -i;
    if (i >= n) return 2 * (n - 1) - i;
    return i;
  };
  const padH = Math.max(before, k - 1 - before);
  const out: number[][][] = [];
  for (let oy = 0; oy < Math.ceil(H / stride); oy++) {
    const r: number[][] = [];
    for (let ox = 0; ox < Math.ceil(W / stride); ox++) {
      const v: number[] = [];
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let a = 0; a < k; a++) {
          for (let b = 0; b < k; b++) {
            const yy = at(oy * stride + a - before, H, padH);
            const xx = at(ox * stride + b - before, W, padH);
            if (yy === null || xx === null) continue;
            acc += ((row[a] * row[b]) / (sum * sum)) * x[yy][xx][c];
          }
        }
        v.push(acc);
      }
      r.push(v);
    }
    out.push(r);
  }
  return out;
}

describe('BlurPool', () => {
  test('kernels sum to one and are binomial outer products', () => {
    const { size, weights } = blurKernel('bin-5');
    expect(size).toBe(5);
    expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(weights[2 * 5 + 2]).toBeCloseTo(36 / 256, 7);
    expect(weights[0]).toBeCloseTo(1 / 256, 7);
  });

  for (const filter of ['rect-2', 'tri-3', 'tri-4', 'bin-5'] as BlurFilter[]) {
    for (const [h, w] of [
      [6, 6],
      [7, 5],
      [2, 2],
    ]) {
      test(`${filter} on ${h}x${w} equals literal depthwise filtering`, () => {
        // Hand-built input: distinct values per position and channel.
        const x: number[][][] = [];
        for (let i = 0; i < h; i++) x.push(Array.from({ length: w }, (_, j) => [i * 10 + j, ((i * 7 + j * 3) % 5) - 2]));
        const expected = literalBlur(x, filter, 2);
        const layer = blurPool({ filter, stride: 2 });
        const y = layer.apply(tf.tensor4d([x])) as tf.Tensor4D;
        expect(y.shape).toEqual([1, Math.ceil(h / 2), Math.ceil(w / 2), 2]);
        const got = y.arraySync()[0];
        for (let i = 0; i < expected.length; i++)
          for (let j = 0; j < expected[0].length; j++) for (let c = 0; c < 2; c++) expect(got[i][j][c]).toBeCloseTo(expected[i][j][c], 4);
      });
    }
  }

  test('reflectPad has the exact gradient (reflected positions add up)', () => {
    const x = randomTensor([1, 4, 5, 1], 3) as tf.Tensor4D;
    const wts = randomTensor([1, 7, 8, 1], 4);
    const g = tf.grad((t: tf.Tensor) =>
      tf.sum(
        tf.mul(
          reflectPad(t as tf.Tensor4D, [
            [1, 2],
            [2, 1],
          ]),
          wts,
        ),
      ),
    )(x);
    // Literal: each padded position (i, j) maps to a source position; the gradient at a source sums its weights.
    const W = wts.arraySync() as number[][][][];
    const expected = Array.from({ length: 4 }, () => new Array(5).fill(0));
    const refl = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
    for (let i = 0; i < 7; i++) for (let j = 0; j < 8; j++) expected[refl(i - 1, 4)][refl(j - 2, 5)] += W[0][i][j][0];
    const got = (g.arraySync() as number[][][][])[0].map((r) => r.map((v) => v[0]));
    for (let i = 0; i < 4; i++) for (let j = 0; j < 5; j++) expect(got[i][j]).toBeCloseTo(expected[i][j], 5);
  });

  test('a model with BlurPool saves and loads with identical outputs', async () => {
    const inp = tf.input({ shape: [8, 8, 2] });
    const out = blurPool({ filter: 'bin-5', name: 'blur' }).apply(
      tf.layers
        .conv2d({ filters: 2, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })
        .apply(inp) as tf.SymbolicTensor,
    ) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: out });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-blur-'));
    await saveModel(model, path.join(dir, 'm'));
    const loaded = await loadModel(path.join(dir, 'm'));
    const x = randomTensor([2, 8, 8, 2], 9);
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(loaded.getLayer('blur').getClassName()).toBe('BlurPool');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

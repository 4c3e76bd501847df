/**
 * The torch backend's native kernels against slow, literal definitions (nested loops that follow the formulas), and
 * against tfjs's cpu backend. Skipped, with the reason printed, when libtorch is not available.
 */
import * as v8 from 'v8';
import * as vm from 'vm';
import { PerformanceObserver, constants } from 'perf_hooks';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { Rng } from './helpers';
import { reflectPad } from '../../lib/models/blurpool';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const torch = require('tfjs-backend-torch');
const describeTorch = torch.isAvailable() ? describe : describe.skip;

/** How many GCs of `kind` (perf_hooks' NODE_PERFORMANCE_GC_*) V8 ran during `run` and the 50 ms after it. */
async function gcsDuring(kind: number, run: () => Promise<void> | void): Promise<number> {
  let n = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as unknown as { detail: { kind: number } }).detail.kind === kind) n++;
  });
  obs.observe({ entryTypes: ['gc'] });
  await run();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return n;
}
if (!torch.isAvailable()) console.warn(`torch kernel tests skipped: ${torch.unavailableReason()}`);

/** NHWC conv2d with explicit padding, stride, dilation: out[n,i,j,o] = sum_{a,b,c} x[n,i*s+a*d-pt,j*s+b*d-pl,c] w[a,b,c,o]. */
function literalConv(
  x: Float32Array,
  xs: number[],
  w: Float32Array,
  ws: number[],
  s: number,
  d: number,
  pt: number,
  pl: number,
  oh: number,
  ow: number,
) {
  const [n, h, wd, c] = xs;
  const [kh, kw, , o] = ws;
  const out = new Float32Array(n * oh * ow * o);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let oc = 0; oc < o; oc++) {
          let acc = 0;
          for (let a = 0; a < kh; a++)
            for (let e = 0; e < kw; e++) {
              const y = i * s + a * d - pt;
              const z = j * s + e * d - pl;
              if (y < 0 || y >= h || z < 0 || z >= wd) continue;
              for (let ic = 0; ic < c; ic++) acc += x[((b * h + y) * wd + z) * c + ic] * w[((a * kw + e) * c + ic) * o + oc];
            }
          out[((b * oh + i) * ow + j) * o + oc] = acc;
        }
  return out;
}

/** d(sum(conv(x,w) * g))/dw and /dx by the literal chain rule. */
function literalConvGrads(
  x: Float32Array,
  xs: number[],
  w: Float32Array,
  ws: number[],
  g: Float32Array,
  s: number,
  pt: number,
  pl: number,
  oh: number,
  ow: number,
) {
  const [n, h, wd, c] = xs;
  const [kh, kw, , o] = ws;
  const dx = new Float32Array(x.length);
  const dw = new Float32Array(w.length);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let oc = 0; oc < o; oc++) {
          const gv = g[((b * oh + i) * ow + j) * o + oc];
          for (let a = 0; a < kh; a++)
            for (let e = 0; e < kw; e++) {
              const y = i * s + a - pt;
              const z = j * s + e - pl;
              if (y < 0 || y >= h || z < 0 || z >= wd) continue;
              for (let ic = 0; ic < c; ic++) {
                const xi = ((b * h + y) * wd + z) * c + ic;
                const wi = ((a * kw + e) * c + ic) * o + oc;
                dx[xi] += gv * w[wi];
                dw[wi] += gv * x[xi];
              }
            }
        }
  return { dx, dw };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Runs fn with the torch backend's native kernels on even the smallest tensors (they normally stay in JS). */
function nativeEvenWhenTiny<T>(fn: () => T): T {
  const backend = tf.backend() as unknown as { minNative: number };
  const saved = backend.minNative;
  backend.minNative = 0;
  try {
    return fn();
  } finally {
    backend.minNative = saved;
  }
}

/** Runs fn on the cpu backend and comes back to torch. */
async function onCpu<T>(fn: () => T): Promise<T> {
  await tf.setBackend('cpu');
  try {
    return fn();
  } finally {
    await tf.setBackend('torch');
  }
}

describeTorch('torch backend kernels', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('torch')).toBe(true);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });
  afterEach(() => torch._setDnnlGrads(true)); // a conv case that turned them off and failed leaves them on again

  // tfjs 'same' with stride 2 on an even input pads 0 before and 1 after: the asymmetric case, computed without a
  // padded copy of x (`shifted`; with `split` both gradients too), as are the other odd totals (a 2x2 at stride 1, a
  // 4x4 at stride 3).
  const cases = [
    { name: 'same s1', xs: [2, 7, 6, 3], ws: [3, 3, 3, 4], s: 1, pad: 'same' as const },
    { name: 'same s2 (asymmetric pad)', xs: [2, 8, 8, 3], ws: [3, 3, 3, 5], s: 2, pad: 'same' as const, shifted: true },
    { name: 'same 2x2 s1 (asymmetric pad)', xs: [2, 5, 7, 3], ws: [2, 2, 3, 4], s: 1, pad: 'same' as const, shifted: true },
    { name: 'same 4x4 s3 (asymmetric pad)', xs: [1, 9, 12, 2], ws: [4, 4, 2, 3], s: 3, pad: 'same' as const, shifted: true },
    // From 32x32 outputs (16x16 for the filter gradient) all three passes split (shiftedSplit: SPLIT_MIN_OUTPUT).
    { name: 'same s2, 64x64 (split)', xs: [1, 64, 64, 2], ws: [3, 3, 2, 3], s: 2, pad: 'same' as const, shifted: true, split: true },
    { name: 'same 2x2 s1, 33x34 (split)', xs: [1, 33, 34, 2], ws: [2, 2, 2, 3], s: 1, pad: 'same' as const, shifted: true, split: true },
    { name: 'same 4x4 s3, 96x96 (split)', xs: [1, 96, 96, 2], ws: [4, 4, 2, 3], s: 3, pad: 'same' as const, shifted: true, split: true },
    { name: 'valid s2', xs: [1, 9, 7, 2], ws: [3, 2, 2, 3], s: 2, pad: 'valid' as const },
    // Single-channel stride-1 forwards run as the addon's smallConv: register blocks of 8 (4 for 64 filters) between the
    // borders, one pixel at a time in the tails and at the borders, and any other filter count pixel by pixel.
    { name: 'single channel same, 32 filters (smallConv)', xs: [2, 11, 21, 1], ws: [3, 3, 1, 32], s: 1, pad: 'same' as const },
    { name: 'single channel same, 64 filters (smallConv)', xs: [1, 6, 14, 1], ws: [3, 3, 1, 64], s: 1, pad: 'same' as const },
    { name: 'single channel valid 5x4, 5 filters (smallConv)', xs: [2, 12, 19, 1], ws: [5, 4, 1, 5], s: 1, pad: 'valid' as const },
    { name: 'single channel same 2x2, 16 filters (smallConv)', xs: [1, 9, 20, 1], ws: [2, 2, 1, 16], s: 1, pad: 'same' as const },
    // Strided 1x1 projections: the filter gradient takes its own path (libtorch 1.13 corrupts the heap on the
    // 60 px, stride 2, 8-channel case, where the last row and column are skipped).
    { name: '1x1 valid s2, skipped last row', xs: [2, 60, 60, 8], ws: [1, 1, 8, 16], s: 2, pad: 'valid' as const },
    { name: '1x1 same s3, odd input', xs: [1, 7, 8, 3], ws: [1, 1, 3, 2], s: 3, pad: 'same' as const },
  ];
  // Where the addon has oneDNN, the gradients run through it directly (one primitive each; strided 1x1 filter
  // gradients excepted); the paths through ATen are still those of builds without it, so both are checked.
  const paths = torch.hasDnnlConv() ? ['oneDNN', 'ATen'] : ['ATen'];
  for (const [k, path] of cases.flatMap((c) => paths.map((p) => [c, p] as const))) {
    it(`conv2d ${k.name}, gradients through ${path}: forward and both gradients match the literal definition`, () => {
      torch._setDnnlGrads(path === 'oneDNN');
      const rng = new Rng(7);
      const x = rng.normal(k.xs.reduce((p, v) => p * v, 1));
      const w = rng.normal(k.ws.reduce((p, v) => p * v, 1));
      const info = tf.backend_util.computeConv2DInfo(
        k.xs as [number, number, number, number],
        k.ws as [number, number, number, number],
        k.s,
        1,
        k.pad,
      );
      const { top, left } = info.padInfo;
      const want = literalConv(x, k.xs, w, k.ws, k.s, 1, top, left, info.outHeight, info.outWidth);
      const g = rng.normal(want.length);
      const lit = literalConvGrads(x, k.xs, w, k.ws, g, k.s, top, left, info.outHeight, info.outWidth);
      tf.tidy(() => {
        const xt = tf.tensor4d(x, k.xs as [number, number, number, number]);
        const wt = tf.tensor4d(w, k.ws as [number, number, number, number]);
        const gt = tf.tensor(g, info.outShape);
        const shifted = torch.stats().shiftedSame;
        const y = tf.conv2d(xt, wt, k.s, k.pad);
        expect(torch.stats().shiftedSame - shifted).toBe(k.shifted ? 1 : 0);
        expect(maxAbsDiff(y.dataSync(), want)).toBeLessThan(1e-4);
        const shiftedGrad = torch.stats().shiftedSameGrad;
        const dnnlGrad = torch.stats().dnnlGrad;
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf
            .conv2d(a as tf.Tensor4D, b as tf.Tensor4D, k.s, k.pad)
            .mul(gt)
            .sum(),
        )([xt, wt]);
        expect(torch.stats().shiftedSameGrad - shiftedGrad).toBe(k.split && path === 'ATen' ? 2 : 0);
        const strided1x1 = k.ws[0] === 1 && k.s > 1;
        expect(torch.stats().dnnlGrad - dnnlGrad).toBe(path === 'ATen' ? 0 : strided1x1 ? 1 : 2);
        expect(maxAbsDiff(dx.dataSync(), lit.dx)).toBeLessThan(1e-4);
        expect(maxAbsDiff(dw.dataSync(), lit.dw)).toBeLessThan(1e-3);
      });
    });
  }

  (torch.hasDnnlConv() ? it : it.skip)(
    "oneDNN's conv gradients reject a dy that is not the conv's output, saying which shape was expected",
    () => {
      const x = new Float32Array(1 * 8 * 8 * 2);
      const dy = new Float32Array(1 * 4 * 4 * 3);
      // 'same' 3x3 stride 2 of 8x8 pads one row and column after: the output is 4x4; a 5x5 dy is refused.
      expect(() => torch._addon.dnnlConvGradFilter(x, [1, 8, 8, 2], dy, [1, 5, 5, 3], [3, 3, 2, 3], [2, 2], [0, 1, 0, 1], true)).toThrow(
        "dy's shape is not the conv's output shape [1,4,4,3]",
      );
      const [dw, db] = torch._addon.dnnlConvGradFilter(x, [1, 8, 8, 2], dy, [1, 4, 4, 3], [3, 3, 2, 3], [2, 2], [0, 1, 0, 1], true);
      expect([dw[1], db[1]]).toEqual([[3, 3, 2, 3], [3]]);
      const w = new Float32Array(3 * 3 * 2 * 3);
      expect(() =>
        torch._addon.dnnlConvGradInput(dy, [1, 4, 4, 3], w.subarray(1), [3, 3, 2, 3], [1, 8, 8, 2], [2, 2], [0, 1, 0, 1]),
      ).toThrow('w holds 53 values, expected 54');
    },
  );

  it('smallConv fuses relu and a 2x2 max pool exactly: the pooled, rectified literal conv (odd map, NaN, negatives)', () => {
    const rng = new Rng(11);
    const xs = [2, 9, 19, 1];
    const ws = [3, 3, 1, 32];
    const x = rng.normal(2 * 9 * 19);
    x[5 * 19 + 7] = NaN; // reaches the 3x3 conv outputs around (5, 7) of image 0, and their pools
    const w = rng.normal(3 * 3 * 32);
    const b = rng.normal(32);
    const conv = literalConv(x, xs, w, ws, 1, 1, 1, 1, 9, 19);
    for (let i = 0; i < conv.length; i++) conv[i] += b[i % 32];
    const want: number[] = [];
    for (let n = 0; n < 2; n++)
      for (let i = 0; i < 4; i++)
        for (let j = 0; j < 9; j++)
          for (let c = 0; c < 32; c++) {
            const at = (r: number, q: number) => conv[((n * 9 + r) * 19 + q) * 32 + c];
            const m = [at(2 * i, 2 * j), at(2 * i, 2 * j + 1), at(2 * i + 1, 2 * j), at(2 * i + 1, 2 * j + 1)];
            want.push(m.some(Number.isNaN) ? NaN : Math.max(0, ...m));
          }
    const [y, shape] = torch._addon.smallConv(x, xs, w, ws, b, [1, 1, 1, 1], true, true);
    expect(shape).toEqual([2, 4, 9, 32]);
    const got = Array.from(y as Float32Array);
    expect(got.map(Number.isNaN)).toEqual(want.map(Number.isNaN));
    expect(
      maxAbsDiff(
        Float32Array.from(got, (v) => v || 0),
        Float32Array.from(want, (v) => v || 0),
      ),
    ).toBeLessThan(1e-5);
    torch._addon.free(y);
    expect(() => torch._addon.smallConv(x, [2, 9, 19, 1], w, [3, 3, 2, 16], b, [1, 1, 1, 1], true, true)).toThrow(
      'the filter takes 2 channels, x has 1',
    );
  });

  it('depthwise conv2d and its gradients match the cpu backend', async () => {
    const rng = new Rng(3);
    const xs: [number, number, number, number] = [2, 8, 8, 3];
    const fs: [number, number, number, number] = [3, 3, 3, 2];
    const x = rng.normal(2 * 8 * 8 * 3);
    const f = rng.normal(3 * 3 * 3 * 2);
    const run = () =>
      tf.tidy(() => {
        const xt = tf.tensor4d(x, xs);
        const ft = tf.tensor4d(f, fs);
        const y = tf.depthwiseConv2d(xt, ft, 2, 'same');
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf
            .depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')
            .square()
            .sum(),
        )([xt, ft]);
        return [y, dx, df].map((t) => Array.from(t.dataSync()));
      });
    const got = run();
    const want = await onCpu(run);
    for (let i = 0; i < 3; i++) expect(maxAbsDiff(got[i], want[i])).toBeLessThan(1e-3);
  });

  it('max pooling and its gradient match the literal definition (first maximum wins, negatives included, odd sizes)', () => {
    const rng = new Rng(11);
    // 7x6: the last row is in no 2x2 window (its gradient is 0).
    const [n, h, w, c] = [2, 7, 6, 3];
    const x = rng.normal(n * h * w * c).map((v) => v - 3); // mostly negative windows
    x[2] = x[5] = 10; // a tie inside the first window (channel 2, columns 0 and 1): the first in scan order wins
    const out = new Float32Array(n * 3 * 3 * c);
    const dx = new Float32Array(x.length);
    for (let b = 0; b < n; b++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++)
          for (let ch = 0; ch < c; ch++) {
            let best = -Infinity;
            let at = -1;
            for (let a = 0; a < 2; a++)
              for (let e = 0; e < 2; e++) {
                const idx = ((b * h + i * 2 + a) * w + j * 2 + e) * c + ch;
                if (x[idx] > best) {
                  best = x[idx];
                  at = idx;
                }
              }
            out[((b * 3 + i) * 3 + j) * c + ch] = best;
            dx[at] += 1;
          }
    tf.tidy(() => {
      const xt = tf.tensor4d(x, [n, h, w, c]);
      expect(maxAbsDiff(tf.maxPool(xt, 2, 2, 'valid').dataSync(), out)).toBe(0);
      const g = tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid').sum())(xt);
      expect(maxAbsDiff(g.dataSync(), dx)).toBe(0);
    });
  });

  it('matmul, softmax, batch norm, mean and relu gradient match literal definitions', () => {
    const rng = new Rng(5);
    const a = rng.normal(6 * 5);
    const b = rng.normal(5 * 4);
    const mm = new Float32Array(6 * 4);
    for (let i = 0; i < 6; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 5; k++) mm[i * 4 + j] += a[i * 5 + k] * b[k * 4 + j];
    const x = rng.normal(64 * 40);
    const sm = new Float32Array(x.length);
    for (let r = 0; r < 64; r++) {
      let mx = -Infinity;
      for (let k = 0; k < 40; k++) mx = Math.max(mx, x[r * 40 + k]);
      let s = 0;
      for (let k = 0; k < 40; k++) s += Math.exp(x[r * 40 + k] - mx);
      for (let k = 0; k < 40; k++) sm[r * 40 + k] = Math.exp(x[r * 40 + k] - mx) / s;
    }
    nativeEvenWhenTiny(() =>
      tf.tidy(() => {
        expect(maxAbsDiff(tf.matMul(tf.tensor2d(a, [6, 5]), tf.tensor2d(b, [5, 4])).dataSync(), mm)).toBeLessThan(1e-5);
        expect(maxAbsDiff(tf.softmax(tf.tensor2d(x, [64, 40])).dataSync(), sm)).toBeLessThan(1e-6);
        const bn = tf.batchNorm(tf.tensor2d(x, [64, 40]), tf.fill([40], 0.5), tf.fill([40], 4), tf.fill([40], 1), tf.fill([40], 2), 0);
        expect(
          maxAbsDiff(
            bn.dataSync(),
            Array.from(x, (v) => ((v - 0.5) / 2) * 2 + 1),
          ),
        ).toBeLessThan(1e-5);
        const dr = tf.grad((t: tf.Tensor) => tf.relu(t).mul(3).sum())(tf.tensor1d(x));
        expect(
          maxAbsDiff(
            dr.dataSync(),
            Array.from(x, (v) => (v > 0 ? 3 : 0)),
          ),
        ).toBe(0);
        const mean = tf.mean(tf.tensor2d(x, [64, 40]), 0).dataSync();
        const want = new Float32Array(40);
        for (let r = 0; r < 64; r++) for (let k = 0; k < 40; k++) want[k] += x[r * 40 + k] / 64;
        expect(maxAbsDiff(mean, want)).toBeLessThan(1e-5);
      }),
    );
  });

  it('global average pooling (a mean over H and W) and its gradient match the literal definition, keepDims or not', () => {
    // Hand-worked: image 0 channel 0 holds 1..6 (mean 3.5), channel 1 their negatives; image 1 holds 10 times those.
    const x = Float32Array.from({ length: 2 * 2 * 3 * 2 }, (_, i) => {
      const [n, p, c] = [Math.floor(i / 12), Math.floor(i / 2) % 6, i % 2];
      return (n ? 10 : 1) * (c ? -1 : 1) * (p + 1);
    });
    tf.tidy(() => {
      const xt = tf.tensor4d(x, [2, 2, 3, 2]);
      expect(Array.from(tf.mean(xt, [1, 2]).dataSync())).toEqual([3.5, -3.5, 35, -35]);
      expect(tf.mean(xt, [2, 1], true).shape).toEqual([2, 1, 1, 2]);
      // d/dx of sum(mean * g) is g[n, c] / 6 at every pixel.
      const g = tf.tensor2d([6, 12, -3, 0], [2, 2]);
      const dx = tf.grad((t: tf.Tensor) => tf.mean(t, [1, 2]).mul(g).sum())(xt);
      const want = Array.from({ length: 24 }, (_, i) => [1, 2, -0.5, 0][Math.floor(i / 12) * 2 + (i % 2)]);
      expect(Array.from(dx.dataSync())).toEqual(want);
    });
  });

  it('reflect padding and its gradient match the literal definition, natively and on the composite path', async () => {
    const rng = new Rng(5);
    const [n, h, w, c] = [2, 9, 10, 4];
    const pads: [[number, number], [number, number]] = [
      [1, 2],
      [2, 1],
    ];
    const [ph, pw] = [h + 3, w + 3];
    const x = rng.normal(n * h * w * c);
    const g = rng.normal(n * ph * pw * c);
    // padded[b,i,j,k] = x[b, refl(i - top), refl(j - left), k] with refl(a) = |a| mirrored at n - 1, no edge repeat.
    const refl = (a: number, len: number) => (a < 0 ? -a : a >= len ? 2 * (len - 1) - a : a);
    const want = new Float32Array(g.length);
    const wantDx = new Float32Array(x.length);
    for (let b = 0; b < n; b++)
      for (let i = 0; i < ph; i++)
        for (let j = 0; j < pw; j++)
          for (let k = 0; k < c; k++) {
            const src = ((b * h + refl(i - 1, h)) * w + refl(j - 2, w)) * c + k;
            const dst = ((b * ph + i) * pw + j) * c + k;
            want[dst] = x[src];
            wantDx[src] += g[dst];
          }
    const run = () =>
      tf.tidy(() => {
        const xt = tf.tensor4d(x, [n, h, w, c]);
        const f = (t: tf.Tensor) =>
          reflectPad(t as tf.Tensor4D, pads)
            .mul(tf.tensor4d(g, [n, ph, pw, c]))
            .sum();
        return [reflectPad(xt, pads), tf.grad(f)(xt)].map((t) => Array.from(t.dataSync()));
      });
    const before = torch.stats().native;
    const [y, dx] = run();
    expect(torch.stats().native - before).toBeGreaterThanOrEqual(2); // TorchReflectPad and its gradient
    expect(maxAbsDiff(y, want)).toBe(0);
    expect(maxAbsDiff(dx, wantDx)).toBeLessThan(1e-5);
    const [yc, dxc] = await onCpu(run);
    expect(maxAbsDiff(yc, want)).toBe(0);
    expect(maxAbsDiff(dxc, wantDx)).toBeLessThan(1e-5);
  });

  it('split, reverse and concat (and their gradients) run natively and match the cpu backend', async () => {
    const rng = new Rng(6);
    const x = rng.normal(2 * 9 * 10 * 4);
    const g = rng.normal(2 * 9 * 13 * 4);
    const run = () =>
      tf.tidy(() => {
        const xt = tf.tensor4d(x, [2, 9, 10, 4]);
        const f = (t: tf.Tensor) => {
          const [a, b] = tf.split(t, [3, 7], 2);
          return tf
            .concat([tf.reverse(a, [1, 2]), t.slice([0, 0, 0, 0], [-1, -1, 3, -1]), b], 2)
            .mul(tf.tensor4d(g, [2, 9, 13, 4]))
            .sum();
        };
        const { value, grad } = tf.valueAndGrad(f)(xt);
        return [value, grad].map((t) => Array.from(t.dataSync()));
      });
    const before = { ...torch.stats().byKernel };
    const got = nativeEvenWhenTiny(run);
    const fellBack = ['SplitV', 'Reverse', 'Concat', 'Slice'].filter((k) => (torch.stats().byKernel[k] ?? 0) !== (before[k] ?? 0));
    expect(fellBack).toEqual([]);
    const want = await onCpu(run);
    expect(maxAbsDiff(got[0], want[0])).toBeLessThan(1e-3);
    expect(maxAbsDiff(got[1], want[1])).toBe(0);
  });

  it('values read from a tensor stay valid after it is disposed (native buffers are copied on read)', () => {
    const t = tf.relu(tf.randomNormal([64, 64])); // native output
    const v = t.dataSync();
    const copy = Array.from(v);
    t.dispose();
    expect(Array.from(v)).toEqual(copy);
  });

  it("native outputs stay out of V8's external memory count, which would otherwise start a full GC every 64 MB", async () => {
    const x = tf.fill([2048, 4096], -1); // 32 MB allocated by JS (counted by V8)
    // Earlier tests' garbage is collected and its buffers swept in the background, which moved the count by tens of
    // MB in the middle of the measurement: collect until the count holds still first.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    let before = NaN;
    for (let i = 0; i < 50 && before !== torch.memory().v8External; i++) {
      before = torch.memory().v8External;
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    before = torch.memory().v8External;
    const y = tf.relu(x); // 32 MB allocated by libtorch
    const alive = torch.memory().v8External;
    y.dispose(); // detached and freed: V8's count must not drop below where it started either
    const after = torch.memory().v8External;
    x.dispose();
    expect(Math.abs(alive - before)).toBeLessThan(1 << 20);
    expect(Math.abs(after - before)).toBeLessThan(1 << 20);
  });

  it("freeing a large output does not lower V8's external memory limit (which started a full GC per large output)", async () => {
    // V8 lowers its limit to the lowest count seen + 64 MB; the count must not dip while a buffer is freed, or the next
    // output of the same size crosses the limit and starts a mark-compact.
    const x = tf.fill([2560, 4096], -1); // 40 MB
    tf.relu(x).dispose();
    await new Promise((r) => setTimeout(r, 50));
    const majors = await gcsDuring(constants.NODE_PERFORMANCE_GC_MAJOR, async () => {
      for (let i = 0; i < 8; i++) {
        tf.relu(x).dispose();
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    x.dispose();
    expect(majors).toBe(0);
  });

  it('outputs in a large block are views of one lasting buffer; freeing one twice cannot free the next', () => {
    const x = new Float32Array(1 << 18).fill(-2); // 1 MB: a large block of the caching allocator
    const relu = () => torch._call('aten::abs', [[x, [x.length]]]) as [Float32Array, number[]];
    const [a] = relu();
    expect(torch._addon.free(a)).toBe(true);
    const [b] = relu(); // the same block, from the cache: a view of the same buffer
    expect(b.buffer).toBe(a.buffer);
    expect(torch._addon.free(a)).toBe(false); // a's tensor is gone; b's is not touched
    expect(b[0]).toBe(2);
    const before = torch.memory().buffers;
    expect(torch._addon.free(b)).toBe(true);
    expect(torch.memory().buffers).toBe(before - 1);
  });

  it('large outputs start no young GCs from external memory pressure (one lasting buffer per block)', async () => {
    // V8 runs a scavenge each time JS allocates an ArrayBuffer while its young generation holds > 32 MB of external
    // buffers: with a new external buffer per output, every JS allocation of a step did (BagNet: ~32 a step).
    const x = tf.fill([1024, 2048], -1); // 8 MB
    tf.dispose(Array.from({ length: 8 }, () => tf.relu(x))); // eight blocks, each with its buffer now
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)(); // the buffers grow old (a step later, they would have)
    await new Promise((r) => setTimeout(r, 20));
    const keep: tf.Tensor[] = [];
    const minors = await gcsDuring(constants.NODE_PERFORMANCE_GC_MINOR, () => {
      for (let i = 0; i < 8; i++) {
        keep.push(tf.relu(x)); // 64 MB of outputs alive at the end, as activations in a forward pass
        new Float32Array(256); // a JS allocation off the heap (tfjs's cpu kernels make such arrays)
      }
    });
    tf.dispose([x, ...keep]);
    expect(minors).toBeLessThan(2); // 7 with a buffer per output
  });

  it('a block evicted from the allocator cache has its buffer detached before it is unmapped', () => {
    // A 4 MB cache: 1 MB and 3 MB blocks are cached; caching a 2 MB block evicts both, and views of them read nothing.
    const script = `
      const torch = require('tfjs-backend-torch');
      const free = torch._addon.free;
      const out = (n) => torch._call('aten::abs', [[new Float32Array(n).fill(-3), [n]]])[0];
      const a = out(1 << 18); free(a);
      const b = out(3 << 18); free(b);
      const blocks = torch.memory().blockBuffers;
      const c = out(2 << 18); free(c);
      const d = out(2 << 18);
      console.log(JSON.stringify({ blocks, after: torch.memory().blockBuffers, a: a.length, b: b.length,
        sameBlock: d.buffer === c.buffer, d0: d[0], dLength: d.length }));`;
    const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, TFJS_TORCH_CACHE_MB: '4' }, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ blocks: 2, after: 1, a: 0, b: 0, sameBlock: true, d0: 3, dLength: 1 << 19 });
  });

  it('does not leak tensors over a training step', async () => {
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2 }),
      ],
    });
    m.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
    const x = tf.randomNormal([4, 8, 8, 1]);
    const y = tf.randomNormal([4, 2]);
    await m.trainOnBatch(x, y);
    const before = tf.memory().numTensors;
    const nativeBefore = torch.memory();
    await m.trainOnBatch(x, y);
    await m.trainOnBatch(x, y);
    expect(tf.memory().numTensors).toBe(before);
    const nativeAfter = torch.memory();
    expect(nativeAfter.buffers).toBe(nativeBefore.buffers); // every native output freed with its tensor
    expect(nativeAfter.largeBytes).toBe(nativeBefore.largeBytes);
    tf.dispose([x, y]);
    m.dispose();
  });
});

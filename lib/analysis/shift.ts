import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { circularShift as rollImages } from '../data/transforms';

/**
 * Shift-invariance metrics (Lee, Yang & Wang 2020, "What Does CNN Shift Invariance Look Like?", arXiv 2011.04127;
 * Zhang 2019, "Making Convolutional Networks Shift-Invariant Again", arXiv 1904.11486). They work on plain arrays of
 * features or maps over a grid of object positions, so they apply to any model; a "map" is row-major [height*width]
 * over the position grid (row j = vertical offset, column i = horizontal offset).
 */

/**
 * Cosine similarity of every row of `features` [P, D] with each anchor row: one map [P] per anchor (Lee et al.'s
 * global-shift heatmaps, before averaging over objects). A zero row has cosine 0 with everything.
 */
export function anchorCosines(features: tf.Tensor2D, anchors: readonly number[]): Float32Array[] {
  const [P] = features.shape;
  for (const a of anchors) {
    if (!(Number.isInteger(a) && a >= 0 && a < P)) throw new Error(`anchorCosines: anchor ${a} is not a row of the ${P} features`);
  }
  // Dot products first, norms after: no normalised copy of the (possibly large, early-conv) [P, D] features.
  const cos = tf.tidy(() => {
    const norm = tf.maximum(tf.sqrt(tf.sum(tf.square(features), 1)), 1e-12); // [P]
    const idx = tf.tensor1d(anchors as number[], 'int32');
    const dots = tf.matMul(tf.gather(features, idx), features, false, true); // [anchors, P]
    return tf.div(tf.div(dots, norm.reshape([1, P])), tf.gather(norm, idx).reshape([-1, 1]));
  });
  const flat = cos.dataSync() as Float32Array;
  cos.dispose();
  return anchors.map((_, k) => flat.slice(k * P, (k + 1) * P));
}

/** The cosine similarity of two vectors (0 if either is zero); the literal definition the tests use as reference. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

function checkMap(map: ArrayLike<number>, width: number, height: number, what: string): void {
  if (map.length !== width * height)
    throw new Error(`${what}: a ${height}x${width} map needs ${width * height} values, found ${map.length}`);
}

/**
 * Local invariance: the mean |m(p) - m(q)| over all pairs of 1-px neighbours p, q of the grid (horizontal and
 * vertical pairs together), for a map m [height*width] such as the cosine to the centre anchor.
 */
export function localVariation(map: ArrayLike<number>, width: number, height: number): number {
  checkMap(map, width, height, 'localVariation');
  let sum = 0;
  let n = 0;
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      const v = map[j * width + i];
      if (i + 1 < width) {
        sum += Math.abs(map[j * width + i + 1] - v);
        n++;
      }
      if (j + 1 < height) {
        sum += Math.abs(map[(j + 1) * width + i] - v);
        n++;
      }
    }
  }
  return n ? sum / n : 0;
}

/** Power |sum_t x_t e^{-2 pi i f t}|^2 of one line at frequency f (cycles per sample). */
function power(line: ArrayLike<number>, f: number): number {
  let re = 0;
  let im = 0;
  for (let t = 0; t < line.length; t++) {
    re += line[t] * Math.cos(2 * Math.PI * f * t);
    im -= line[t] * Math.sin(2 * Math.PI * f * t);
  }
  return re * re + im * im;
}

/** The line minus its least-squares straight line (removes the mean and a linear trend). */
function detrend(line: Float64Array): Float64Array {
  const n = line.length;
  const tm = (n - 1) / 2;
  let ym = 0;
  for (let t = 0; t < n; t++) ym += line[t];
  ym /= n;
  let sty = 0;
  let stt = 0;
  for (let t = 0; t < n; t++) {
    sty += (t - tm) * (line[t] - ym);
    stt += (t - tm) ** 2;
  }
  const slope = stt > 0 ? sty / stt : 0;
  return line.map((v, t) => v - ym - slope * (t - tm));
}

/**
 * How strongly a map repeats with period `period` grid steps (e.g. the network stride), read from the spectrum of its
 * 1-px differences: along every row the horizontal differences m(j, i+1) - m(j, i), along every column the vertical
 * ones, each line detrended (differencing and detrending remove the smooth fall-off from the anchor, a quadratic bowl
 * exactly, and keep the grid artefacts). Returns the mean power at the harmonics m/period <= 1/2 of the period
 * (a sharp artefact spreads over them; differencing favours the higher ones) divided by the mean power over the line's
 * DFT frequencies k/N in the band [1/(2 period), 1/2] (N = line length), both summed over all lines: about 1 for white
 * noise, large for a period-`period` pattern, 0 for a constant map. Needs lines of at least 2 * period differences.
 */
export function periodicPeak(map: ArrayLike<number>, width: number, height: number, period: number): number {
  checkMap(map, width, height, 'periodicPeak');
  if (!(period >= 2)) throw new Error(`periodicPeak: the period must be at least 2 grid steps, found ${period}`);
  const lines: Float64Array[] = [];
  if (width - 1 >= 2 * period) {
    for (let j = 0; j < height; j++)
      lines.push(Float64Array.from({ length: width - 1 }, (_, i) => map[j * width + i + 1] - map[j * width + i]));
  }
  if (height - 1 >= 2 * period) {
    for (let i = 0; i < width; i++)
      lines.push(Float64Array.from({ length: height - 1 }, (_, j) => map[(j + 1) * width + i] - map[j * width + i]));
  }
  if (!lines.length) {
    throw new Error(
      `periodicPeak: a ${height}x${width} grid is too small to see period ${period}; it needs at least ${2 * period + 1} positions per ` +
        `axis`,
    );
  }
  const harmonics = Math.floor(period / 2);
  let peak = 0;
  let band = 0;
  for (const raw of lines) {
    const line = detrend(raw);
    const N = line.length;
    for (let m = 1; m / period <= 0.5; m++) peak += power(line, m / period);
    const k0 = Math.ceil(N / (2 * period));
    const k1 = Math.floor(N / 2);
    let s = 0;
    for (let k = k0; k <= k1; k++) s += power(line, k / N);
    band += s / (k1 - k0 + 1);
  }
  return band > 0 ? peak / harmonics / band : 0;
}

/**
 * Zhang's consistency for positions drawn independently and uniformly from the grid: the probability that two
 * such positions get the same top-1 class, sum_c p_c^2 with p_c the share of positions predicted c (exact, no
 * sampling; identical draws included, as two random crops may coincide).
 */
export function consistency(top1: ArrayLike<number>): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < top1.length; i++) counts.set(top1[i], (counts.get(top1[i]) ?? 0) + 1);
  let s = 0;
  for (const c of counts.values()) s += (c / top1.length) ** 2;
  return s;
}

/**
 * Position labels for the linear probe: 'rows' is top (0) vs bottom (1) half of the grid rows, 'columns' left (0) vs
 * right (1). With an odd count the middle row/column belongs to neither half and gets -1 (left out).
 */
export function halfLabels(width: number, height: number, axis: 'rows' | 'columns'): Int8Array {
  const out = new Int8Array(width * height);
  const n = axis === 'rows' ? height : width;
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      const k = axis === 'rows' ? j : i;
      out[j * width + i] = 2 * k + 1 === n ? -1 : k < n / 2 ? 0 : 1;
    }
  }
  return out;
}

/** Solves A x = b for a symmetric positive definite A [n*n] (Cholesky); A and b are not modified. */
export function solveSpd(A: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`solveSpd: the matrix is not positive definite (pivot ${s} at row ${i})`);
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

export interface ProbeOptions {
  /** Cross-validation folds (default 5, as the reference's 5-fold CV). */
  folds?: number;
  /** Ridge penalty relative to the mean feature variance of the training fold (default 1). */
  ridge?: number;
}

/**
 * Linear position probe: k-fold cross-validated accuracy of a ridge (least-squares) linear classifier predicting a
 * binary label from features [n, d] (row-major). Folds are drawn from `rng` (shuffled, unlike the reference's
 * contiguous blocks, which make the probe extrapolate to unseen rows). Rows labelled -1 are left out. Per fold the
 * features and the +-1 targets are centred on the training rows (so the bias is unpenalised) and
 * w = (X'X + lambda I)^-1 X'y with lambda = ridge * trace(X'X) / d; a row is predicted 1 when its score is > 0.
 */
export function probeAccuracy(
  features: ArrayLike<number>,
  d: number,
  labels: ArrayLike<number>,
  rng: Rng,
  opts: ProbeOptions = {},
): number {
  const folds = opts.folds ?? 5;
  const ridge = opts.ridge ?? 1;
  const rows: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === 0 || labels[i] === 1) rows.push(i);
  if (features.length !== labels.length * d)
    throw new Error(`probeAccuracy: ${labels.length} labels need ${labels.length * d} feature values, found ${features.length}`);
  if (rows.length < folds * 2) throw new Error(`probeAccuracy: ${rows.length} labelled rows are too few for ${folds} folds`);
  rng.shuffle(rows);
  let correct = 0;
  for (let f = 0; f < folds; f++) {
    const test = rows.filter((_, k) => k % folds === f);
    const train = rows.filter((_, k) => k % folds !== f);
    const mu = new Float64Array(d);
    let yMean = 0;
    for (const r of train) {
      for (let c = 0; c < d; c++) mu[c] += features[r * d + c];
      yMean += labels[r] ? 1 : -1;
    }
    for (let c = 0; c < d; c++) mu[c] /= train.length;
    yMean /= train.length;
    const A = new Float64Array(d * d);
    const b = new Float64Array(d);
    const x = new Float64Array(d);
    for (const r of train) {
      for (let c = 0; c < d; c++) x[c] = features[r * d + c] - mu[c];
      const y = (labels[r] ? 1 : -1) - yMean;
      for (let i = 0; i < d; i++) {
        b[i] += x[i] * y;
        for (let j = 0; j <= i; j++) A[i * d + j] += x[i] * x[j];
      }
    }
    let trace = 0;
    for (let i = 0; i < d; i++) {
      trace += A[i * d + i];
      for (let j = 0; j < i; j++) A[j * d + i] = A[i * d + j];
    }
    const lambda = Math.max(ridge * (trace / d), 1e-12);
    for (let i = 0; i < d; i++) A[i * d + i] += lambda;
    const w = solveSpd(A, b, d);
    for (const r of test) {
      let s = yMean;
      for (let c = 0; c < d; c++) s += w[c] * (features[r * d + c] - mu[c]);
      if ((s > 0 ? 1 : 0) === labels[r]) correct++;
    }
  }
  return correct / rows.length;
}

/** x [N,H,W,C] rolled circularly by (dy, dx) pixels: out(y, x) = in((y - dy) mod H, (x - dx) mod W). */
export function circularShift(x: tf.Tensor4D, dy: number, dx: number): tf.Tensor4D {
  return rollImages(x, dx, dy);
}

/**
 * Every roll of x [N,H,W,C] in `shifts` ([dy, dx] pairs) at once: [shifts.length * N, H, W, C], shift-major (the rows
 * of shift k are k*N .. k*N + N - 1), equal to concatenating circularShift(x, dy, dx) over the shifts. One gather of
 * the pixels instead of four slices and two concats a shift: the circular sweep builds 64 shifted copies an image.
 */
export function circularShiftGrid(x: tf.Tensor4D, shifts: readonly (readonly [number, number])[]): tf.Tensor4D {
  const [N, H, W, C] = x.shape;
  const index = new Int32Array(shifts.length * H * W);
  shifts.forEach(([dy, dx], k) => {
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++) {
        const sy = (((y - dy) % H) + H) % H;
        const sx = (((xx - dx) % W) + W) % W;
        index[(k * H + y) * W + xx] = sy * W + sx;
      }
  });
  return tf.tidy(() => {
    const rows = tf.gather(x.reshape([N, H * W, C]), tf.tensor1d(index, 'int32'), 1); // [N, G*H*W, C]
    const byShift = N === 1 ? rows : rows.reshape([N, shifts.length, H * W * C]).transpose([1, 0, 2]);
    return byShift.reshape([shifts.length * N, H, W, C]) as tf.Tensor4D;
  });
}

/**
 * A layer's output as one vector per image [N, D]: spatial maps [N,h,w,c] are averaged over positions (a roll of the
 * input cannot be undone on a coarser map, but a global average is what the classifier sees after GAP), vectors are
 * kept. Used for the circular-shift distance maps.
 */
export function pooledFeatures(t: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => (t.rank === 4 ? tf.mean(t, [1, 2]) : t.reshape([t.shape[0], -1])) as tf.Tensor2D);
}

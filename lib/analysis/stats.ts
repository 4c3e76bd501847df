/**
 * Small statistics used by the studies: means, Pearson correlation, least-squares lines with R², the pointing game.
 * Plain numbers in, plain numbers out (no tensors), so they are easy to test against hand computations.
 */

export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/** Sample standard deviation (n - 1). */
export function std(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return NaN;
  const m = mean(values);
  let s = 0;
  for (let i = 0; i < n; i++) s += (values[i] - m) ** 2;
  return Math.sqrt(s / (n - 1));
}

/**
 * Pearson's r = cov(x, y) / (sd(x) sd(y)). NaN when fewer than two points or when either variable is constant
 * (the correlation is undefined then). Computed in float64 with centred sums.
 */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new Error(`pearson: x has ${x.length} values, y has ${y.length}`);
  const n = x.length;
  if (n < 2) return NaN;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return sxy / Math.sqrt(sxx * syy);
}

export interface LinearFit {
  slope: number;
  intercept: number;
  /** Coefficient of determination 1 - SS_res / SS_tot (1 for a perfect line; NaN when y is constant). */
  r2: number;
}

/** Ordinary least squares y ≈ slope * x + intercept. */
export function linearFit(x: ArrayLike<number>, y: ArrayLike<number>): LinearFit {
  if (x.length !== y.length) throw new Error(`linearFit: x has ${x.length} values, y has ${y.length}`);
  const n = x.length;
  if (n < 2) throw new Error(`linearFit needs at least 2 points, found ${n}`);
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  if (sxx === 0) throw new Error('linearFit: all x are equal');
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    ssRes += (y[i] - (slope * x[i] + intercept)) ** 2;
    ssTot += (y[i] - my) ** 2;
  }
  return { slope, intercept, r2: ssTot === 0 ? NaN : 1 - ssRes / ssTot };
}

/** Index of the largest value (the first on ties); -1 for an empty array. */
export function argmax(values: ArrayLike<number>): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] > bestValue) {
      bestValue = values[i];
      best = i;
    }
  }
  return best;
}

/** A boolean H*W mask grown by `radius` pixels (Chebyshev: a (2r+1) square around every true pixel). */
export function dilate(mask: ArrayLike<boolean | number>, height: number, width: number, radius: number): Uint8Array {
  const out = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      for (let yy = Math.max(0, y - radius); yy <= Math.min(height - 1, y + radius); yy++) {
        for (let xx = Math.max(0, x - radius); xx <= Math.min(width - 1, x + radius); xx++) out[yy * width + xx] = 1;
      }
    }
  }
  return out;
}

export interface PointingResult {
  /** Hits / images. */
  hitRate: number;
  /** Mean, over images, of the fraction of pixels that would count as a hit (the rate of a uniformly random point). */
  chance: number;
  hits: number;
  images: number;
  /** Mean fraction of the positive heatmap mass that falls on the target mask (not dilated). */
  massOnTarget: number;
  /** Mean area fraction of the target mask (what massOnTarget would be for a uniform heatmap). */
  areaFraction: number;
}

/**
 * The pointing game (Zhang et al., "Top-down Neural Attention by Excitation Backprop", ECCV 2016): a hit when the
 * heatmap's maximum falls on the target mask grown by `tolerance` pixels. Images whose mask is empty are skipped.
 * `heatmaps[i]` and `masks[i]` are H*W, row-major.
 */
export function pointingGame(
  heatmaps: readonly ArrayLike<number>[],
  masks: readonly ArrayLike<boolean | number>[],
  height: number,
  width: number,
  tolerance: number,
): PointingResult {
  if (heatmaps.length !== masks.length) throw new Error(`pointingGame: ${heatmaps.length} heatmaps, ${masks.length} masks`);
  let hits = 0;
  let images = 0;
  let chance = 0;
  let mass = 0;
  let area = 0;
  for (let i = 0; i < heatmaps.length; i++) {
    const m = masks[i];
    let count = 0;
    for (let p = 0; p < height * width; p++) if (m[p]) count++;
    if (count === 0) continue;
    images++;
    const grown = dilate(m, height, width, tolerance);
    let grownCount = 0;
    for (let p = 0; p < grown.length; p++) grownCount += grown[p];
    chance += grownCount / (height * width);
    area += count / (height * width);
    const h = heatmaps[i];
    if (grown[argmax(h)]) hits++;
    let pos = 0;
    let posOn = 0;
    for (let p = 0; p < height * width; p++) {
      if (h[p] > 0) {
        pos += h[p];
        if (m[p]) posOn += h[p];
      }
    }
    mass += pos > 0 ? posOn / pos : 0;
  }
  return {
    hitRate: images ? hits / images : NaN,
    chance: images ? chance / images : NaN,
    hits,
    images,
    massOnTarget: images ? mass / images : NaN,
    areaFraction: images ? area / images : NaN,
  };
}

/** Per-class accuracy from predictions and labels (NaN for a class without examples). */
export function perClassAccuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): number[] {
  const right = new Array(numClasses).fill(0);
  const total = new Array(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    total[labels[i]]++;
    if (predicted[i] === labels[i]) right[labels[i]]++;
  }
  return right.map((r, c) => (total[c] ? r / total[c] : NaN));
}

/**
 * Correlation of two models' logits on the same images: each image's logit vector is centred (softmax ignores a
 * constant shift), then Pearson r over all (image, class) pairs. `a`, `b`: N*C row-major.
 */
export function logitCorrelation(a: ArrayLike<number>, b: ArrayLike<number>, numClasses: number): number {
  if (a.length !== b.length) throw new Error(`logitCorrelation: ${a.length} vs ${b.length} values`);
  const n = a.length / numClasses;
  const ca = new Float64Array(a.length);
  const cb = new Float64Array(b.length);
  for (let i = 0; i < n; i++) {
    let ma = 0;
    let mb = 0;
    for (let c = 0; c < numClasses; c++) {
      ma += a[i * numClasses + c];
      mb += b[i * numClasses + c];
    }
    ma /= numClasses;
    mb /= numClasses;
    for (let c = 0; c < numClasses; c++) {
      ca[i * numClasses + c] = a[i * numClasses + c] - ma;
      cb[i * numClasses + c] = b[i * numClasses + c] - mb;
    }
  }
  return pearson(ca, cb);
}

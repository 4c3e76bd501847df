import * as tf from '@tensorflow/tfjs';

/** Small deterministic random numbers for the engine tests (mulberry32 + Box-Muller). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  uniform(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = Math.max(1e-12, this.uniform());
      out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
    }
    return out;
  }
}

export interface BackendRun {
  losses: number[];
  weights: Float32Array[];
}

/**
 * Trains a freshly built layers model for `steps` Adam steps (lr 0.01, categorical cross-entropy) on the cpu backend,
 * then on torch from the same initial weights and data, and returns each backend's losses and final weights.
 */
export async function trainOnCpuAndTorch(
  build: () => tf.LayersModel,
  x: Float32Array,
  xShape: [number, number, number, number],
  y: number[],
  classes: number,
  steps: number,
): Promise<{ cpu: BackendRun; torch: BackendRun }> {
  let init: Float32Array[] | null = null;
  const out: Record<string, BackendRun> = {};
  for (const backend of ['cpu', 'torch']) {
    await tf.setBackend(backend);
    const m = build();
    if (init) m.setWeights(init.map((w, i) => tf.tensor(w, m.getWeights()[i].shape)));
    else init = m.getWeights().map((w) => w.dataSync().slice() as Float32Array);
    m.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const xt = tf.tensor4d(x, xShape);
    const yt = tf.oneHot(tf.tensor1d(y, 'int32'), classes);
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) losses.push((await m.trainOnBatch(xt, yt)) as number);
    out[backend] = { losses, weights: m.getWeights().map((w) => w.dataSync().slice() as Float32Array) };
    tf.dispose([xt, yt]);
    m.dispose();
  }
  return { cpu: out.cpu, torch: out.torch };
}

/** Largest absolute elementwise difference of two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

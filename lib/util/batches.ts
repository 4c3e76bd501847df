import * as tf from '@tensorflow/tfjs';

/** [start, count] of consecutive batches covering n items. */
export function batchRanges(n: number, batchSize: number): [number, number][] {
  if (!(batchSize >= 1)) throw new Error(`batch size must be >= 1, found ${batchSize}`);
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += batchSize) out.push([s, Math.min(batchSize, n - s)]);
  return out;
}

/**
 * Runs `fn` on consecutive batches of x [N,...] (inside tf.tidy) and concatenates the numbers of the tensors it
 * returns, in order: the one batch loop of the suite. Each result must hold the same number of values per image.
 */
export function mapBatches(x: tf.Tensor, batchSize: number, fn: (xb: tf.Tensor, start: number, count: number) => tf.Tensor): Float32Array {
  const n = x.shape[0];
  let out: Float32Array | null = null;
  let per = 0;
  for (const [start, count] of batchRanges(n, batchSize)) {
    const t = tf.tidy(() => fn(count === n ? x : x.slice(start, count), start, count));
    const v = t.dataSync() as Float32Array;
    t.dispose();
    if (!out) {
      per = v.length / count;
      out = new Float32Array(n * per);
    }
    if (v.length !== per * count)
      throw new Error(`mapBatches: batch at ${start} gave ${v.length / count} values per item, expected ${per}`);
    out.set(v, start * per);
  }
  return out ?? new Float32Array(0);
}

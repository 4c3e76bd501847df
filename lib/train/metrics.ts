import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset';
import { mapBatches } from '../util/batches';

/** Classification metrics of one pass over a dataset. */
export interface EvalResult {
  /** Mean softmax cross-entropy. */
  loss: number;
  /** Top-1 accuracy in [0, 1]. */
  accuracy: number;
  /** Top-k accuracy, with k. */
  topK: number;
  k: number;
  /** Top-1 accuracy per class (NaN for a class with no images). */
  perClass: number[];
  count: number;
}

/** Counts of top-1 and top-k hits for logits [n*C] (row-major) and labels [n]. */
export function countHits(
  logits: Float32Array | number[],
  labels: ArrayLike<number>,
  numClasses: number,
  k: number,
): { top1: boolean[]; topK: boolean[] } {
  const n = labels.length;
  const top1: boolean[] = [];
  const topK: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const off = i * numClasses;
    const target = logits[off + labels[i]];
    // Rank = number of classes scoring strictly higher (ties count in the label's favour).
    let higher = 0;
    for (let c = 0; c < numClasses; c++) if (logits[off + c] > target) higher++;
    top1.push(higher === 0);
    topK.push(higher < k);
  }
  return { top1, topK };
}

/**
 * Evaluates `model` (logits output) on `data` in inference mode: loss, top-1, top-k, per-class accuracy.
 * `limit` evaluates the first `limit` images only.
 */
export function evaluate(model: tf.LayersModel, data: Dataset, opts: { batchSize?: number; k?: number; limit?: number } = {}): EvalResult {
  const batchSize = opts.batchSize ?? 128;
  const C = data.numClasses;
  const k = Math.min(opts.k ?? 5, C);
  const n = Math.min(opts.limit ?? data.size, data.size);
  let lossSum = 0;
  let hits1 = 0;
  let hitsK = 0;
  const classHits = new Array(C).fill(0);
  const classCount = new Array(C).fill(0);
  for (let start = 0; start < n; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
    const { x, y } = data.batch(idx);
    // (tf.tidy returns tensors only: returning typed arrays makes it walk every element.)
    const [lt, ct] = tf.tidy(() => {
      const l = model.predict(x) as tf.Tensor2D;
      return [l, tf.losses.softmaxCrossEntropy(tf.oneHot(y, C), l, undefined, undefined, tf.Reduction.SUM)];
    });
    const logits = lt.dataSync() as Float32Array;
    const loss = ct.dataSync()[0];
    tf.dispose([x, y, lt, ct]);
    lossSum += loss;
    const labels = idx.map((i) => data.labels[i]);
    const { top1, topK } = countHits(logits, labels, C, k);
    labels.forEach((label, i) => {
      classCount[label]++;
      if (top1[i]) {
        hits1++;
        classHits[label]++;
      }
      if (topK[i]) hitsK++;
    });
  }
  return {
    loss: lossSum / Math.max(1, n),
    accuracy: hits1 / Math.max(1, n),
    topK: hitsK / Math.max(1, n),
    k,
    perClass: classHits.map((h, c) => (classCount[c] ? h / classCount[c] : NaN)),
    count: n,
  };
}

/** Logits [N*K] of a model on x, in inference mode and in batches. */
export function predictLogits(model: tf.LayersModel, x: tf.Tensor4D, batchSize = 128): Float32Array {
  return mapBatches(x, batchSize, (xb) => model.predict(xb) as tf.Tensor);
}

/** Index of the largest value of each row of a [n*K] array (ties: the lower index). */
export function argmaxRows(values: ArrayLike<number>, K: number): number[] {
  const n = values.length / K;
  return Array.from({ length: n }, (_, i) => {
    let b = 0;
    for (let k = 1; k < K; k++) if (values[i * K + k] > values[i * K + b]) b = k;
    return b;
  });
}

/** Share of predictions equal to the labels. */
export function accuracyOf(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  let c = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels[i]) c++;
  return c / Math.max(1, predicted.length);
}

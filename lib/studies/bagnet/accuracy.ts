import { logitCorrelation, pearson, perClassAccuracy } from '../../analysis/stats';
import { wilsonInterval } from '../../analysis/intervals';
import { accuracyOf, argmaxRows, predictLogits } from '../../train/metrics';
import type { Interval } from '../types';
import { diffOf, Estimate, estimate } from './estimates';
import { DatasetSession, timed } from './session';

/** Figures 1 and 6: every model's predictions on the evaluation images, and how the BagNets' agree with the CNNs'. */
export interface AccuracyResult {
  /** Per model key: logits [nEval,K] (flat), predicted classes [nEval] and 1/0 per image for a right prediction. */
  logits: Record<string, Float32Array>;
  preds: Record<string, number[]>;
  correct: Record<string, number[]>;
  /** Per model key: top-1 accuracy and its Wilson interval over the test images. */
  accuracy: Record<string, number>;
  accuracyInterval: Record<string, Interval>;
  /** Per model key: accuracy of each class [K]. */
  perClass: Record<string, number[]>;
  /** [cnn key][bagnet key]: Pearson r of per-class accuracies, and of logits centred per image. */
  accuracyR: Record<string, Record<string, number>>;
  logitR: Record<string, Record<string, number>>;
  /** Paired over test images: accuracy of the largest minus the smallest BagNet; of the largest minus the VGG-like. */
  riseWithQ: Estimate;
  largestVsVgg: Estimate;
  /** Per CNN key: logit correlation with the largest BagNet minus that with the smallest (images resampled). */
  logitRRise: Record<string, Estimate>;
}

/** The rows `idx` of a flat [n,K] array. */
function rows(a: Float32Array, K: number, idx: Int32Array): Float32Array {
  const out = new Float32Array(idx.length * K);
  for (let i = 0; i < idx.length; i++) out.set(a.subarray(idx[i] * K, idx[i] * K + K), i * K);
  return out;
}

/** Top-1 accuracy of every model, per-class accuracy, the BagNet-CNN correlations of both, and the paired comparisons. */
export function accuracy(ds: DatasetSession): AccuracyResult {
  return timed(ds, 'accuracy', () => {
    const K = ds.test.numClasses;
    const n = ds.labels.length;
    const logits: Record<string, Float32Array> = {};
    const preds: Record<string, number[]> = {};
    const correct: Record<string, number[]> = {};
    const acc: Record<string, number> = {};
    const accuracyInterval: Record<string, Interval> = {};
    const perClass: Record<string, number[]> = {};
    for (const m of ds.models) {
      logits[m.key] = predictLogits(m.model, ds.x);
      preds[m.key] = argmaxRows(logits[m.key], K);
      correct[m.key] = preds[m.key].map((p, i) => (p === ds.labels[i] ? 1 : 0));
      acc[m.key] = accuracyOf(preds[m.key], ds.labels);
      accuracyInterval[m.key] = wilsonInterval(Math.round(acc[m.key] * n), n, 0.95, 'test images');
      perClass[m.key] = perClassAccuracy(preds[m.key], ds.labels, K);
    }
    const accuracyR: Record<string, Record<string, number>> = {};
    const logitR: Record<string, Record<string, number>> = {};
    for (const c of ds.cnns) {
      accuracyR[c.key] = {};
      logitR[c.key] = {};
      for (const b of ds.bagnets) {
        accuracyR[c.key][b.key] = pearson(perClass[b.key], perClass[c.key]);
        logitR[c.key][b.key] = logitCorrelation(logits[b.key], logits[c.key], K);
      }
    }
    const rng = ds.rng.fork('accuracy-bootstrap');
    const B = ds.resamples;
    const small = ds.bagnets[0].key;
    const big = ds.largest.key;
    const riseWithQ = estimate(n, diffOf(correct[big], correct[small]), rng.fork('rise'), B);
    const largestVsVgg = estimate(n, diffOf(correct[big], correct[ds.cnns[0].key]), rng.fork('vgg'), B);
    const logitRRise: Record<string, Estimate> = {};
    for (const c of ds.cnns) {
      const r = (b: string, idx: Int32Array) => logitCorrelation(rows(logits[b], K, idx), rows(logits[c.key], K, idx), K);
      logitRRise[c.key] = estimate(n, (idx) => r(big, idx) - r(small, idx), rng.fork(`logit-r-${c.key}`), B);
    }
    return { logits, preds, correct, accuracy: acc, accuracyInterval, perClass, accuracyR, logitR, riseWithQ, largestVsVgg, logitRRise };
  });
}

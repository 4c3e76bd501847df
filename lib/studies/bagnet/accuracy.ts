import { logitCorrelation, pearson, perClassAccuracy } from '../../analysis/stats';
import { accuracyOf, argmaxRows, predictLogits } from '../../train/metrics';
import { DatasetSession, timed } from './session';

/** Figures 1 and 6: every model's predictions on the evaluation images, and how the BagNets' agree with the CNNs'. */
export interface AccuracyResult {
  /** Per model key: logits [nEval,K] (flat) and predicted classes [nEval]. */
  logits: Record<string, Float32Array>;
  preds: Record<string, number[]>;
  /** Per model key: top-1 accuracy. */
  accuracy: Record<string, number>;
  /** Per model key: accuracy of each class [K]. */
  perClass: Record<string, number[]>;
  /** [cnn key][bagnet key]: Pearson r of per-class accuracies, and of logits centred per image. */
  accuracyR: Record<string, Record<string, number>>;
  logitR: Record<string, Record<string, number>>;
}

/** Top-1 accuracy of every model, per-class accuracy, and the BagNet-CNN correlations of both. */
export function accuracy(ds: DatasetSession): AccuracyResult {
  return timed(ds, 'accuracy', () => {
    const K = ds.test.numClasses;
    const logits: Record<string, Float32Array> = {};
    const preds: Record<string, number[]> = {};
    const acc: Record<string, number> = {};
    const perClass: Record<string, number[]> = {};
    for (const m of ds.models) {
      logits[m.key] = predictLogits(m.model, ds.x);
      preds[m.key] = argmaxRows(logits[m.key], K);
      acc[m.key] = accuracyOf(preds[m.key], ds.labels);
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
    return { logits, preds, accuracy: acc, perClass, accuracyR, logitR };
  });
}

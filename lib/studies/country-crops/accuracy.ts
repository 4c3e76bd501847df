import { bootstrapInterval, wilsonInterval } from '../../analysis/intervals';
import { argmaxRows, predictLogits } from '../../train/metrics';
import type { Interval } from '../types';
import { cropsOf, CountryCropsSession, timed } from './session';

/** One model's accuracy on test crops of its own side and on whole test images. */
export interface ModelAccuracy {
  label: string;
  crop: number;
  whole: boolean;
  /** Top-1 on `evalCropsPerImage` random crops of every test image (whole-image model: the whole images). */
  cropAccuracy: number;
  cropInterval: Interval;
  /** Top-1 of the model applied to the whole images (GAP makes every crop model run on them, as in the post). */
  wholeAccuracy: number;
  wholeInterval: Interval;
  /** Validation accuracy (whole images) after every epoch: the learning curve. */
  valCurve: number[];
}

export interface AccuracyResult {
  models: ModelAccuracy[];
  /** Crop accuracy of the largest crop minus the smallest, paired by crop centre, with its bootstrap interval over images. */
  gain: { value: number; interval: Interval; small: number; large: number };
  images: number;
  cropsPerImage: number;
}

/**
 * Accuracy against crop size. Every test image gets `evalCropsPerImage` crop centres drawn once (where the largest crop
 * fits); each crop model sees the crop of its side around the same centres, so the sizes are compared on the same spots.
 */
export function accuracy(s: CountryCropsSession): AccuracyResult {
  return timed(s, 'accuracy', () => {
    const { config, labels, x } = s;
    const n = labels.length;
    const E = config.evalCropsPerImage;
    const side = config.side;
    const largest = Math.max(...config.crops);
    const rng = s.rng.fork('accuracy-centres');
    const cy: number[] = [];
    const cx: number[] = [];
    for (let k = 0; k < n * E; k++) {
      cy.push(Math.floor(largest / 2) + rng.int(side - largest + 1));
      cx.push(Math.floor(largest / 2) + rng.int(side - largest + 1));
    }
    const images = Array.from({ length: n * E }, (_, k) => Math.floor(k / E));
    const K = s.test.numClasses;
    const hitsOf = (logits: Float32Array, per: number): number[] =>
      argmaxRows(logits, K).map((p, k) => (p === labels[Math.floor(k / per)] ? 1 : 0));
    const perImage: number[][] = [];
    const models: ModelAccuracy[] = s.models.map((m) => {
      const wholeHits = hitsOf(predictLogits(m.model, x), 1);
      let cropHits = wholeHits;
      if (!m.whole) {
        const crops = cropsOf(
          x,
          images,
          cy.map((c) => c - Math.floor(m.crop / 2)),
          cx.map((c) => c - Math.floor(m.crop / 2)),
          m.crop,
        );
        cropHits = hitsOf(predictLogits(m.cropModel, crops), E);
        crops.dispose();
      }
      const per = m.whole ? 1 : E;
      perImage.push(
        Array.from({ length: n }, (_, i) => cropHits.slice(i * per, (i + 1) * per).reduce((a: number, b: number) => a + b, 0) / per),
      );
      const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
      return {
        label: m.label,
        crop: m.crop,
        whole: m.whole,
        cropAccuracy: sum(cropHits) / cropHits.length,
        cropInterval: wilsonInterval(sum(cropHits), cropHits.length, 0.95, m.whole ? 'images' : 'crops'),
        wholeAccuracy: sum(wholeHits) / n,
        wholeInterval: wilsonInterval(sum(wholeHits), n, 0.95, 'images'),
        valCurve: m.history.map((h) => h.valAccuracy ?? NaN),
      };
    });
    const iS = models.findIndex((m) => m.crop === Math.min(...config.crops));
    const iL = models.findIndex((m) => m.crop === largest);
    const diff = (idx: ArrayLike<number>) => {
      let d = 0;
      for (let k = 0; k < idx.length; k++) d += perImage[iL][idx[k]] - perImage[iS][idx[k]];
      return d / idx.length;
    };
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const interval = bootstrapInterval(n, diff, s.rng.fork('accuracy-bootstrap'), { resamples: config.resamples, unit: 'test images' });
    return {
      models,
      gain: { value: diff(all), interval, small: models[iS].cropAccuracy, large: models[iL].cropAccuracy },
      images: n,
      cropsPerImage: E,
    };
  });
}

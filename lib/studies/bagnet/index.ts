import type { Study, StudyContext, StudyOutput } from '../types';
import { accuracy } from './accuracy';
import { bagnetClaims } from './claims';
import { DatasetFigures, datasetFigures } from './figures';
import * as figures from './figures';
import { heatmaps, sweeps } from './heatmaps';
import { occlusion } from './occlusion';
import { patchMean } from './patch-mean';
import { pointing } from './pointing';
import { removal } from './removal';
import { DatasetMeasures, DatasetResult, datasetResult, studyOutput } from './results';
import { scrambling } from './scrambling';
import { DatasetSession, disposeDataset, load, prepare } from './session';

/**
 * BagNets (Brendel & Bethge, "Approximating CNNs with Bag-of-local-Features models works surprisingly well on
 * ImageNet", ICLR 2019, arXiv 1904.00760), at laptop scale: BagNet-q for three patch sizes q and two CNNs of global
 * receptive field (a VGG-like and a deeper ResNet-like) on Fashion-MNIST (28 px) and on the parts-birds world (64 px,
 * with ground-truth discriminative parts). Figures 1-6 and the claims are described in notebooks/01-bagnet.ipynb.
 *
 * The study is a list of steps a notebook calls one cell at a time (`bagnetSteps`); `run()` calls the same steps in
 * order. Steps take a DatasetSession (data and trained models, loaded once) and return plain typed results; the
 * figure builders in `bagnetSteps.figures` take those results.
 */

/** Every measuring step on one dataset, in the study's order. */
export function measure(ds: DatasetSession): DatasetMeasures {
  const acc = accuracy(ds);
  const patch = patchMean(ds, acc);
  const sweep = sweeps(ds);
  return {
    accuracy: acc,
    patchMean: patch,
    sweeps: sweep,
    heatmaps: heatmaps(ds, acc, patch, sweep),
    scrambling: scrambling(ds),
    occlusion: occlusion(ds),
    removal: removal(ds, sweep),
    pointing: pointing(ds, sweep),
  };
}

/** The whole study: per dataset, load and train, measure, build the figures, free the tensors; then the claims. */
export async function runBagNet(ctx: StudyContext): Promise<StudyOutput> {
  const bag = await prepare(ctx);
  const results: DatasetResult[] = [];
  const figs: DatasetFigures[] = [];
  for (const plan of bag.config.datasets) {
    const ds = await load(bag, plan);
    try {
      const m = measure(ds);
      results.push(datasetResult(ds, m));
      figs.push(await datasetFigures(ds, m));
    } finally {
      disposeDataset(ds);
    }
  }
  return studyOutput(bag, results, figs);
}

/**
 * The study's steps, for a notebook:
 * ```ts
 * const bag = await bagnetSteps.prepare(ctx);                 // engine, config of ctx.scale, seeded generator
 * const fm = await bagnetSteps.load(bag, 'fashion-mnist');    // data + models trained (or loaded) once
 * const acc = bagnetSteps.accuracy(fm);                       // AccuracyResult
 * show(bagnetSteps.figures.accuracyFigures(fm, acc).vsQ.spec);
 * const occ = bagnetSteps.occlusion(fm, { perDistance: 10 }); // rerun one experiment with other settings
 * ```
 * then `result(ds, measures)` per dataset, `output(bag, results, figures)` and `saveStudyOutput`.
 */
export const bagnetSteps = {
  prepare,
  load,
  accuracy,
  patchMean,
  sweeps,
  heatmaps,
  scrambling,
  occlusion,
  removal,
  pointing,
  measure,
  result: datasetResult,
  figures,
  claims: bagnetClaims,
  output: studyOutput,
  dispose: disposeDataset,
};

export const study: Study = {
  name: 'bagnet',
  title: 'BagNets: bag-of-local-features models approximate CNNs',
  paper:
    'Brendel & Bethge, "Approximating CNNs with Bag-of-local-Features models works surprisingly well on ImageNet", ICLR 2019 ' +
    '(arXiv 1904.00760)',
  summary:
    "BagNet-q (q = 3, 5, 9 on 64-px images, q/side near the paper's) against a VGG-like and a ResNet-like CNN that see the " +
    'whole image, on the parts-birds world (plus Fashion-MNIST at 64 px at the standard and full scales): accuracy vs q, ' +
    'exact class-evidence heatmaps, tile scrambling with an intact-patch control, occlusion linearity, patch removal against ' +
    'attribution methods, error and logit correlation, with paired-bootstrap intervals.',
  notebook: 'notebooks/01-bagnet.ipynb',
  run: runBagNet,
};

export { BAGNET_CONFIGS, CLAIM_RULES, PAPER_Q_OVER_SIDE } from './config';
export type { BagNetStudyConfig, DatasetPlan } from './config';
export type { AccuracyResult } from './accuracy';
export type { DatasetFigures } from './figures';
export type { HeatmapResult, SweepResult } from './heatmaps';
export type { OcclusionResult } from './occlusion';
export type { PatchMeanResult } from './patch-mean';
export type { PointingResult } from './pointing';
export type { RemovalResult } from './removal';
export type { DatasetMeasures, DatasetResult } from './results';
export type { ScrambleResult } from './scrambling';
export type { BagNetSession, DatasetSession } from './session';
export { bagnetClaims };

import type { SimilarityMaps } from '../../explain/prototype';
import type { Figure, Study, StudyContext, StudyOutput, Table } from '../types';
import { accuracyTable, critique, duplicates, parts, purity, pushCheck, reasoning, testMaps } from './analysis';
import type { AccuracyResult, CritiqueResult, DuplicateResult, PartsResult, PurityResult, PushCheck, ReasoningImage } from './analysis';
import { ClaimInputs, protoPNetClaims } from './claims';
import { CLAIM_RULES } from './config';
import * as figures from './figures';
import { baselineEpochs, DatasetSession, disposeDataset, load, loadData, prepare, ProtoPNetSession } from './session';
import { disposeRun, ProtoPNetRun, trainProtoPNet } from './train';

/**
 * ProtoPNet (Chen et al., "This Looks Like That: Deep Learning for Interpretable Image Recognition", NeurIPS 2019,
 * arXiv 1806.10574) at laptop scale on Fashion-MNIST and the parts-birds world (CUB-200-2011 at the full scale): a VGG-like
 * backbone pre-trained as a plain classifier, then the paper's add-on, prototypes, costs and schedule (warm, joint, push,
 * last layer), pruning, and the paper's figures; claims in claims.ts. notebooks/03-protopnet.ipynb calls the steps
 * one cell at a time; `run()` calls the same steps in order.
 */

/** Every measuring step on one trained dataset, in the study's order. */
export interface DatasetMeasures {
  accuracy: AccuracyResult;
  pushCheck: PushCheck;
  maps: SimilarityMaps;
  purity: PurityResult;
  duplicates: DuplicateResult;
  parts: PartsResult | null;
  critique: CritiqueResult;
  reasoning: ReasoningImage[];
}

/** Measures a trained run: accuracy table, push check, purity, duplicates, parts, the critique, the reasoning. */
export async function measure(ds: DatasetSession, run: ProtoPNetRun): Promise<DatasetMeasures> {
  const { method, maps } = testMaps(ds, run);
  return {
    accuracy: accuracyTable(ds, run),
    pushCheck: await pushCheck(ds, run),
    maps,
    purity: purity(ds, run, maps),
    duplicates: duplicates(run),
    parts: parts(ds, run),
    critique: await critique(ds, run, method),
    reasoning: reasoning(ds, run, method, maps),
  };
}

/** Every figure of one dataset. */
export async function datasetFigures(ds: DatasetSession, run: ProtoPNetRun, m: DatasetMeasures): Promise<Figure[]> {
  return [
    figures.accuracyFigure(ds, m.accuracy),
    figures.trainingFigure(ds, run),
    await figures.galleryFigure(ds, run),
    await figures.reasoningFigure(ds, run, m.maps, m.reasoning),
    await figures.nearestFigure(ds, run),
    await figures.critiqueFigure(ds, m.critique, m.maps),
  ];
}

/** What results.json keeps of one dataset (plain numbers; the claims read only these). */
export interface DatasetResult extends ClaimInputs {
  label: string;
  trainImages: number;
  valImages: number;
  testImages: number;
  models: { backboneParams: number; pretrainEpochs: number; baselineEpochs: number; protoPNetEpochs: number; pruneEpochs: number };
  trainSeconds: { backbone: number; baseline: number; protoPNet: number };
  fromCache: { backbone: boolean; baseline: boolean; protoPNet: boolean };
  /** Per push cycle: prototype -> [source image, cell y, cell x, distance before push]. */
  pushes: { image: number; cell: [number, number]; distance: number }[][];
  kept: number[];
  reasoning: ReasoningImage[];
  valAccuracy: { baseline: (number | null)[]; protoPNet: { stage: string; value: number | null }[] };
  seconds: Record<string, number>;
}

export function datasetResult(ds: DatasetSession, run: ProtoPNetRun, m: DatasetMeasures): DatasetResult {
  const { occlusion: _maps, upsampled: _up, activationBoxes: _a, rfBoxes: _r, peaks: _p, ...critiqueNumbers } = m.critique;
  return {
    dataset: ds.plan.dataset,
    label: ds.plan.label,
    trainImages: ds.train.size,
    valImages: ds.val.size,
    testImages: ds.test.size,
    models: {
      backboneParams: ds.pretrained.params,
      pretrainEpochs: ds.plan.pretrain.epochs,
      baselineEpochs: baselineEpochs(ds.plan),
      protoPNetEpochs: run.history.length,
      pruneEpochs: run.pruneHistory.length,
    },
    trainSeconds: { backbone: ds.pretrained.trainSeconds, baseline: ds.baseline.trainSeconds, protoPNet: run.trainSeconds },
    fromCache: { backbone: ds.pretrained.fromCache, baseline: ds.baseline.fromCache, protoPNet: run.fromCache },
    accuracy: m.accuracy,
    pushCheck: m.pushCheck,
    purity: m.purity,
    duplicates: m.duplicates,
    parts: m.parts,
    critique: critiqueNumbers,
    pushes: run.pushes.map((p) => p.map((r) => ({ image: r.image, cell: r.cell, distance: r.distance }))),
    kept: run.kept,
    reasoning: m.reasoning,
    valAccuracy: {
      baseline: ds.baseline.history.map((h) => h.valAccuracy),
      protoPNet: [...run.history, ...run.pruneHistory].map((h) => ({ stage: h.stage, value: h.valAccuracy })),
    },
    seconds: ds.seconds,
  };
}

/** The accuracy table of every dataset (the note's table). */
export function accuracyRows(results: DatasetResult[]): Table['rows'] {
  return results.flatMap((r) =>
    r.accuracy.rows.map((row) => ({
      dataset: r.dataset,
      model: row.model,
      accuracy: Number(row.accuracy.toFixed(4)),
      ci95: `[${row.interval.low.toFixed(3)}, ${row.interval.high.toFixed(3)}]`,
      vsBaseline: row.vsBaseline ? Number(row.vsBaseline.difference.toFixed(4)) : '',
      vsBaselineCi95: row.vsBaseline ? `[${row.vsBaseline.interval.low.toFixed(3)}, ${row.vsBaseline.interval.high.toFixed(3)}]` : '',
    })),
  );
}

/** The study's output from every dataset's results and figures. */
export function studyOutput(s: ProtoPNetSession, results: DatasetResult[], figs: Figure[]): StudyOutput {
  return {
    results: {
      scale: s.ctx.scale,
      seed: s.ctx.seed,
      backend: s.engine.backend,
      engine: s.engine.detail,
      config: s.config,
      rules: CLAIM_RULES,
      datasets: results,
    },
    claims: protoPNetClaims(results),
    figures: figs,
    tables: [
      {
        name: 'accuracy',
        caption: 'Test accuracy with 95% Wilson intervals; difference to the baseline with a paired bootstrap 95% interval.',
        rows: accuracyRows(results),
      },
      {
        name: 'reasoning',
        caption: 'Reasoning of the first test images: the predicted class, its top prototypes, similarity x weight = points.',
        rows: results.flatMap((r) =>
          r.reasoning.flatMap((img) =>
            img.top.map((t) => ({
              dataset: r.dataset,
              image: img.image,
              label: img.label,
              predicted: img.predicted,
              prototype: t.prototype,
              protoClass: t.cls,
              similarity: Number(t.similarity.toFixed(3)),
              weight: Number(t.weight.toFixed(3)),
              points: Number(t.points.toFixed(3)),
              logit: Number(img.logits[img.predicted].toFixed(3)),
            })),
          ),
        ),
      },
    ],
  };
}

/** The whole study: per dataset, load and train, measure, build the figures, free the tensors; then the claims. */
export async function runProtoPNet(ctx: StudyContext): Promise<StudyOutput> {
  const s = await prepare(ctx);
  const results: DatasetResult[] = [];
  const figs: Figure[] = [];
  for (const plan of s.config.datasets) {
    const ds = await load(s, plan);
    const run = await trainProtoPNet(ds);
    try {
      const m = await measure(ds, run);
      results.push(datasetResult(ds, run, m));
      figs.push(...(await datasetFigures(ds, run, m)));
    } finally {
      disposeRun(run);
      disposeDataset(ds);
    }
  }
  return studyOutput(s, results, figs);
}

/**
 * The steps, for a notebook:
 * ```ts
 * const s = await protopnet.prepare(ctx);
 * const fm = await protopnet.load(s, 'fashion-mnist');   // data, the pre-trained backbone and the baseline
 * const run = await protopnet.train(fm);                  // warm, joint, push, last layer, pruning
 * const acc = protopnet.accuracy(fm, run);
 * ```
 */
export const protoPNetSteps = {
  prepare,
  load,
  loadData,
  train: trainProtoPNet,
  testMaps,
  accuracy: accuracyTable,
  pushCheck,
  purity,
  duplicates,
  parts,
  critique,
  reasoning,
  measure,
  result: datasetResult,
  figures: { ...figures, datasetFigures },
  claims: protoPNetClaims,
  accuracyRows,
  output: studyOutput,
  dispose: (ds: DatasetSession, run?: ProtoPNetRun) => {
    if (run) disposeRun(run);
    disposeDataset(ds);
  },
};

export const study: Study = {
  name: 'protopnet',
  title: 'ProtoPNet: this looks like that',
  paper:
    'Chen, Li, Tao, Barnett, Su, Rudin, "This Looks Like That: Deep Learning for Interpretable Image Recognition", NeurIPS 2019 (arXiv ' +
    '1806.10574)',
  summary:
    "A prototype layer on a pre-trained VGG-like backbone, trained by the paper's schedule (warm, joint, push, last layer) and pruned, " +
    'on Fashion-MNIST and parts-birds: accuracy against the baseline around push, prototype gallery, reasoning, nearest patches and ' +
    'purity, collapse, boxes on ground-truth parts, and the critique of upsampled activation maps.',
  notebook: 'notebooks/03-protopnet.ipynb',
  run: runProtoPNet,
};

export { PROTOPNET_CONFIGS, CLAIM_RULES } from './config';
export type { DatasetPlan, ProtoPNetStudyConfig } from './config';
export type { DatasetSession, ProtoPNetData, ProtoPNetSession } from './session';
export type { ProtoPNetRun, TrainProtoPNetOptions } from './train';
export type { AccuracyResult, CritiqueResult, DuplicateResult, PartsResult, PurityResult, PushCheck, ReasoningImage } from './analysis';

import type { Figure, StudyOutput } from '../types';
import type { AccuracyResult } from './accuracy';
import { bagnetClaims } from './claims';
import { CLAIM_RULES } from './config';
import { DatasetFigures, figureList } from './figures';
import type { HeatmapResult, SweepResult } from './heatmaps';
import type { OcclusionResult } from './occlusion';
import type { PatchMeanResult } from './patch-mean';
import type { PointingResult, PointingScore } from './pointing';
import type { RemovalResult } from './removal';
import type { ScrambleResult } from './scrambling';
import type { BagNetSession, DatasetSession } from './session';

/** Every step's result on one dataset, as the steps return them. */
export interface DatasetMeasures {
  accuracy: AccuracyResult;
  patchMean: PatchMeanResult;
  sweeps: SweepResult;
  heatmaps: HeatmapResult;
  scrambling: ScrambleResult;
  occlusion: OcclusionResult;
  removal: RemovalResult;
  pointing?: PointingResult;
}

/** One model as results.json lists it (q: null for the CNNs). */
export interface ModelRecord {
  key: string;
  label: string;
  kind: string;
  q: number | null;
  params: number;
  accuracy: number;
  trainSeconds: number;
  fromCache: boolean;
}

/** Everything measured on one dataset (plain numbers: goes to results.json). */
export interface DatasetResult {
  dataset: string;
  label: string;
  trainImages: number;
  testImages: number;
  models: ModelRecord[];
  patchMeanMaxError: Record<string, number>;
  scramble: { tiles: number[]; compareTile: number; accuracy: Record<string, number[]> };
  occlusion: { distances: number[]; r: Record<string, number[]>; interaction: Record<string, number[]>; pairs: number };
  removal: { ks: number[]; curves: Record<string, Record<string, { meanLogit: number[]; accuracy: number[] }>>; bagnetR2: number };
  correlation: Pick<AccuracyResult, 'perClass' | 'accuracyR' | 'logitR'>;
  pointing?: Record<string, PointingScore>;
  seconds: Record<string, number>;
}

/** The numbers of one dataset that results.json keeps (the claims read only these). */
export function datasetResult(ds: DatasetSession, m: DatasetMeasures): DatasetResult {
  const { accuracy: acc, occlusion: occ, removal: rem } = m;
  const mapValues = <T, U>(o: Record<string, T>, f: (v: T) => U) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
  return {
    dataset: ds.plan.dataset,
    label: ds.plan.label,
    trainImages: ds.train.size,
    testImages: ds.counts.eval,
    models: ds.models.map((x) => ({
      key: x.key,
      label: x.label,
      kind: x.kind,
      q: x.q ?? null,
      params: x.params,
      accuracy: acc.accuracy[x.key],
      trainSeconds: x.trainSeconds,
      fromCache: x.fromCache,
    })),
    patchMeanMaxError: m.patchMean.maxError,
    scramble: { tiles: m.scrambling.tiles, compareTile: m.scrambling.compareTile, accuracy: m.scrambling.accuracy },
    occlusion: { distances: occ.distances, r: occ.r, interaction: occ.interaction, pairs: Object.values(occ.effects)[0]?.length ?? 0 },
    removal: {
      ks: rem.ks,
      curves: mapValues(rem.curves, (byName) => mapValues(byName, (c) => ({ meanLogit: c.meanLogit, accuracy: c.accuracy }))),
      bagnetR2: rem.bagnetR2,
    },
    correlation: { perClass: acc.perClass, accuracyR: acc.accuracyR, logitR: acc.logitR },
    pointing: m.pointing?.scores,
    seconds: inStepOrder(ds.seconds),
  };
}

/** Step names in run() order: a notebook may call the steps in another order, results.json lists them in this one. */
const STEP_ORDER = ['data', 'training', 'accuracy', 'patch-mean', 'sweeps', 'heatmaps', 'scrambling', 'occlusion', 'removal', 'pointing'];

function inStepOrder(seconds: Record<string, number>): Record<string, number> {
  const rank = (k: string) => (STEP_ORDER.includes(k) ? STEP_ORDER.indexOf(k) : STEP_ORDER.length);
  return Object.fromEntries(Object.entries(seconds).sort(([a], [b]) => rank(a) - rank(b)));
}

/** The study's output from every dataset's results and figures (in the config's dataset order). */
export function studyOutput(bag: BagNetSession, results: DatasetResult[], figures: DatasetFigures[]): StudyOutput {
  const all: Figure[] = figures.flatMap(figureList);
  return {
    results: {
      scale: bag.ctx.scale,
      seed: bag.ctx.seed,
      backend: bag.engine.backend,
      engine: bag.engine.detail,
      config: bag.config,
      rules: CLAIM_RULES,
      datasets: results,
    },
    claims: bagnetClaims(results),
    figures: all,
    tables: [
      {
        name: 'models',
        caption: 'Every model: parameters, test accuracy (top-1), training time.',
        rows: results.flatMap((r) =>
          r.models.map((m) => ({
            dataset: r.dataset,
            model: m.label,
            q: m.q ?? '',
            params: m.params,
            accuracy: Number(m.accuracy.toFixed(4)),
            trainSeconds: Number(m.trainSeconds.toFixed(1)),
            fromCache: m.fromCache,
          })),
        ),
      },
    ],
  };
}

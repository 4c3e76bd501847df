import type { EngineBuild } from '../../train/cache';
import type { Figure, Interval, StudyOutput } from '../types';
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
  /** Receptive field (px) of the last spatial layer, and over the image side. */
  receptiveField: number;
  rfOverSide: number;
  params: number;
  epochs: number;
  /** Adam learning rate it trained at. */
  lr: number;
  accuracy: number;
  accuracyInterval: Interval;
  /** Validation accuracy per epoch, and its gain over the last quarter of the epochs. */
  valCurve: number[];
  plateauGain: number;
  trainSeconds: number;
  fromCache: boolean;
  /** The engine that trained it (backend and build). */
  engine: EngineBuild;
}

/** Everything measured on one dataset (plain numbers: goes to results.json). */
export interface DatasetResult {
  dataset: string;
  label: string;
  /** Image side (px) the models see. */
  side: number;
  trainImages: number;
  valImages: number;
  testImages: number;
  models: ModelRecord[];
  /** Paired over test images: largest minus smallest BagNet, largest BagNet minus the VGG-like. */
  accuracyComparisons: Pick<AccuracyResult, 'riseWithQ' | 'largestVsVgg'>;
  patchMeanMaxError: Record<string, number>;
  scramble: ScrambleResult;
  occlusion: Pick<OcclusionResult, 'distances' | 'r' | 'interaction' | 'farOverNear' | 'far' | 'deeperMinusShallower'> & {
    farGap: number;
    pairs: number;
  };
  removal: Omit<RemovalResult, 'settings' | 'images'> & { images: number };
  correlation: Pick<AccuracyResult, 'perClass' | 'accuracyR' | 'logitR' | 'logitRRise'>;
  pointing?: Record<string, PointingScore>;
  seconds: Record<string, number>;
}

/** The numbers of one dataset that results.json keeps (the claims read only these). */
export function datasetResult(ds: DatasetSession, m: DatasetMeasures): DatasetResult {
  const { accuracy: acc, occlusion: occ, removal: rem } = m;
  const side = ds.test.height;
  const { settings: _s, images, ...removalRest } = rem;
  return {
    dataset: ds.plan.dataset,
    label: ds.plan.label,
    side,
    trainImages: ds.train.size,
    valImages: ds.val.size,
    testImages: ds.counts.eval,
    models: ds.models.map((x) => ({
      key: x.key,
      label: x.label,
      kind: x.kind,
      q: x.q ?? null,
      receptiveField: x.receptiveField,
      rfOverSide: x.receptiveField / side,
      params: x.params,
      epochs: x.epochs,
      lr: x.lr,
      accuracy: acc.accuracy[x.key],
      accuracyInterval: acc.accuracyInterval[x.key],
      valCurve: x.valCurve,
      plateauGain: x.plateauGain,
      trainSeconds: x.trainSeconds,
      fromCache: x.fromCache,
      engine: x.engine,
    })),
    accuracyComparisons: { riseWithQ: acc.riseWithQ, largestVsVgg: acc.largestVsVgg },
    patchMeanMaxError: m.patchMean.maxError,
    scramble: m.scrambling,
    occlusion: {
      distances: occ.distances,
      r: occ.r,
      interaction: occ.interaction,
      farOverNear: occ.farOverNear,
      far: occ.far,
      deeperMinusShallower: occ.deeperMinusShallower,
      farGap: occ.settings.farGap,
      pairs: Object.values(occ.effects)[0]?.length ?? 0,
    },
    removal: { ...removalRest, images },
    correlation: { perClass: acc.perClass, accuracyR: acc.accuracyR, logitR: acc.logitR, logitRRise: acc.logitRRise },
    pointing: m.pointing?.scores,
    seconds: inStepOrder(ds.seconds),
  };
}

/** One row of the models table (the notebook shows the same rows). */
export function modelRow(r: DatasetResult, m: ModelRecord): Record<string, string | number | boolean> {
  const last = m.valCurve[m.valCurve.length - 1];
  return {
    dataset: r.dataset,
    model: m.label,
    q: m.q ?? '',
    rf: m.receptiveField,
    rfOverSide: Number(m.rfOverSide.toFixed(3)),
    params: m.params,
    epochs: m.epochs,
    lr: m.lr,
    accuracy: Number(m.accuracy.toFixed(4)),
    accuracyCI: `[${m.accuracyInterval.low.toFixed(3)}, ${m.accuracyInterval.high.toFixed(3)}]`,
    valAccuracy: Number(last.toFixed(4)),
    plateauGain: Number(m.plateauGain.toFixed(4)),
    trainSeconds: Number(m.trainSeconds.toFixed(1)),
    fromCache: m.fromCache,
    backend: m.engine.backend,
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
        caption:
          'Every model: receptive field (px and over the image side), parameters, epochs (the same for all), test accuracy ' +
          '(top-1, 95% Wilson interval), validation accuracy at the end and its gain over the last quarter of the epochs, ' +
          'training time and the backend that trained it.',
        rows: results.flatMap((r) => r.models.map((m) => modelRow(r, m))),
      },
    ],
  };
}

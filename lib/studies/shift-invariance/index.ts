import type { Figure, Study, StudyContext, StudyOutput, Table } from '../types';
import { circularShifts, CircularResult } from './circular';
import { learntClaim, plateauClaim, shiftClaims } from './claims';
import { CLAIM_RULES } from './config';
import * as figures from './figures';
import { ANCHOR_NAMES, LAYER_ROLES, shiftMaps } from './maps';
import { disposeWorld, load, prepare, ShiftWorld } from './session';
import { AverageMaps, ConditionSummary, summarise } from './summary';

/**
 * Lee, Yang & Wang, "What Does CNN Shift Invariance Look Like? A Visualization Study" (ECCV-W 2020, arXiv 2011.04127),
 * with Zhang's anti-aliasing (ICML 2019, arXiv 1904.11486), at laptop scale: Fashion-MNIST items or synthetic shapes
 * pasted at every position of a small canvas, through a VGG-like (flatten + fc, the AlexNet analogue) and a GAP-net
 * (the ResNet / MobileNet analogue), each as baseline and with BlurPool. The notebook notebooks/04-shift-invariance.ipynb calls the
 * steps one cell at a time; run() calls the same steps in order.
 */

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (v: number, d = 5) => Number(v.toFixed(d));

/** Measures one condition: the exhaustive shift maps of every model, summarised. */
export async function measureCondition(world: ShiftWorld, name: string): Promise<{ summary: ConditionSummary; averages: AverageMaps }> {
  return summarise(world, await shiftMaps(world, name));
}

/** The tables: models, mean cosine per anchor with the local measures, and behaviour over position. */
export function tables(world: ShiftWorld, summaries: ConditionSummary[]): Table[] {
  return [
    {
      name: 'models',
      caption: 'Every model: parameters, network stride, validation accuracy at the last epoch, held-out accuracy, training time.',
      rows: world.models.map((m) => ({
        model: m.label,
        seed: m.seed,
        params: m.params,
        stride: m.stride,
        valAccuracy: round(m.valCurve[m.valCurve.length - 1], 4),
        heldOutAccuracy: round(m.heldOutAccuracy, 4),
        trainSeconds: round(m.trainSeconds, 1),
        fromCache: m.fromCache,
      })),
    },
    {
      name: 'mean-cosines',
      caption:
        'Mean cosine to each anchor over all positions (mean over objects), the 1-px variation and periodic peak of the C map, per ' +
        'condition, model and layer.',
      rows: summaries.flatMap((s) =>
        s.variants.flatMap((v) =>
          LAYER_ROLES.map((r) => ({
            condition: s.condition,
            model: v.label,
            layer: r,
            ...Object.fromEntries(ANCHOR_NAMES.map((a) => [a, round(mean(v.meanCos[r][a]), 4)])),
            localVariation: round(mean(v.localVariation[r]), 6),
            periodicPeak: round(mean(v.periodicPeak[r]), 2),
          })),
        ),
      ),
    },
    {
      name: 'behaviour',
      caption:
        'Accuracy, consistency, true-class probability (mean, minimum) over positions and the position probe, per condition and model.',
      rows: summaries.flatMap((s) =>
        s.variants.map((v) => ({
          condition: s.condition,
          model: v.label,
          accuracy: round(mean(v.accuracy), 4),
          consistency: round(mean(v.consistency), 4),
          meanProb: round(mean(v.meanProb), 4),
          minProb: round(mean(v.minProb), 4),
          probePenultimate: round(mean(v.probe.penultimate), 4),
          probeLogits: round(mean(v.probe.logits), 4),
        })),
      ),
    },
  ];
}

/** The study's output: results.json numbers, claims, figures and tables. */
export function output(world: ShiftWorld, summaries: ConditionSummary[], circular: CircularResult, figs: Figure[]): StudyOutput {
  const { ctx, config, engine } = world.session;
  const circularMeans = Object.fromEntries(
    Object.entries(circular.distance).map(([k, byRole]) => [
      k,
      Object.fromEntries(Object.entries(byRole).map(([r, m]) => [r, round(mean(Array.from(m)), 6)])),
    ]),
  );
  return {
    results: {
      scale: ctx.scale,
      seed: ctx.seed,
      backend: engine.backend,
      engine: engine.detail,
      config,
      rules: CLAIM_RULES,
      trainImages: world.train.size,
      valImages: world.val.size,
      heldOutImages: world.heldOut.size,
      models: world.models.map((m) => {
        const { key, label, seed, params, stride, heldOutAccuracy, valCurve, trainSeconds, fromCache } = m;
        return { key, label, seed, params, stride, heldOutAccuracy, valCurve, trainSeconds, fromCache };
      }),
      conditions: summaries,
      circular: { condition: circular.condition, shifts: circular.shifts, objects: circular.objects, meanDistance: circularMeans },
      seconds: world.seconds,
    },
    claims: [
      learntClaim(world.models.map((m) => ({ label: m.label, seed: m.seed, accuracy: m.heldOutAccuracy, images: world.heldOut.size }))),
      plateauClaim(world.models.map((m) => ({ label: m.label, seed: m.seed, valCurve: m.valCurve, images: world.val.size }))),
      ...shiftClaims(summaries, ctx.seed, config.resamples),
    ],
    figures: figs,
    tables: tables(world, summaries),
  };
}

/** The whole study: train or load the models, measure every condition and the circular shifts, build the figures. */
export async function runShiftInvariance(ctx: StudyContext): Promise<StudyOutput> {
  const session = await prepare(ctx);
  const world = await load(session);
  try {
    const summaries: ConditionSummary[] = [];
    const figs: Figure[] = [figures.learningCurvesFigure(world)];
    for (const c of session.config.conditions) {
      const { summary, averages } = await measureCondition(world, c.name);
      summaries.push(summary);
      figs.push(await figures.globalMapsFigure(world, averages), await figures.accuracyMapsFigure(world, averages));
    }
    const circular = await circularShifts(world);
    figs.push(await figures.circularFigure(world, circular));
    return output(world, summaries, circular, figs);
  } finally {
    disposeWorld(world);
  }
}

/**
 * The steps, for the notebook:
 * ```ts
 * const session = await shift.prepare(ctx);          // engine, config of ctx.scale, seeded generator
 * const world = await shift.load(session);           // data + every model trained (or loaded) once
 * const maps = await shift.maps(world, 'large-white'); // exhaustive shifts of one condition (ConditionMaps)
 * const { summary, averages } = shift.summarise(world, maps);
 * show((await shift.figures.globalMapsFigure(world, averages)).spec);
 * ```
 * then `circular(world)`, `claims`, `output(world, summaries, circular, figures)` and `saveStudyOutput`.
 */
export const shiftSteps = {
  prepare,
  load,
  maps: shiftMaps,
  summarise,
  measureCondition,
  circular: circularShifts,
  figures,
  claims: shiftClaims,
  tables,
  output,
  dispose: disposeWorld,
};

export const study: Study = {
  name: 'shift-invariance',
  title: 'What CNN shift invariance looks like, with and without anti-aliasing',
  paper:
    'Lee, Yang & Wang, "What Does CNN Shift Invariance Look Like? A Visualization Study", ECCV-W 2020 (arXiv 2011.04127); ' +
    'Zhang, "Making Convolutional Networks Shift-Invariant Again", ICML 2019 (arXiv 1904.11486)',
  summary:
    'Fashion-MNIST items or synthetic shapes (config.source) pasted at every position of a canvas, through a VGG-like and a ' +
    'GAP-net, baseline and with BlurPool: cosine maps to five anchors per layer, 1-px variation, consistency, stride-periodic ' +
    'artefacts, a linear position probe, circular shifts.',
  notebook: 'notebooks/04-shift-invariance.ipynb',
  run: runShiftInvariance,
};

export { SHIFT_CONFIGS, CLAIM_RULES } from './config';
export type { ShiftStudyConfig, ShiftCondition, ShiftArchitecture } from './config';
export type { ConditionMaps, ObjectMaps } from './maps';
export type { ConditionSummary, VariantSummary, AverageMaps } from './summary';
export type { CircularResult } from './circular';
export type { ShiftSession, ShiftWorld, ShiftModel } from './session';
export { PAPER_MEAN_COSINES } from './config';

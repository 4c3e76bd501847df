import { SCORES } from '../../explain/scores/index';
import type { Study, StudyContext, StudyOutput, Table } from '../types';
import { scoresClaims } from './claims';
import { CLAIM_RULES } from './config';
import * as figures from './figures';
import { computeMaps, MapsResult } from './maps';
import { dispose, prepare, ScoresSession, timed } from './session';
import { scoreTable, TableResult } from './table';

/**
 * Explanations scored against ground truth (issue 17): every explanation method of the suite on the other studies'
 * models of the two worlds that know their discriminative parts (parts-birds, facades), scored by the pointing game,
 * energy in mask, deletion and insertion, the model-randomisation cascade and sparseness, with intervals over images.
 * The steps below are what notebooks/06-explanation-scores.ipynb calls one cell at a time; `run()` calls them in order.
 */

/** The models' accuracy on the scored images, one row per model. */
export function modelsTable(s: ScoresSession): Table {
  return {
    name: 'models',
    caption: "The scored models (the other studies' models, from the cache): top-1 accuracy on the scored test images (95% Wilson).",
    rows: s.datasets.flatMap((d) =>
      d.models.map((m) => ({
        dataset: d.name,
        model: m.key,
        label: m.label,
        accuracy: +m.accuracy.toFixed(3),
        low: +m.accuracyInterval.low.toFixed(3),
        high: +m.accuracyInterval.high.toFixed(3),
        images: d.labels.length,
        fromCache: m.fromCache,
      })),
    ),
  };
}

/** The cross-method table as rows {dataset, model, method, metric, value, low, high, chance}. */
export function scoreRowsTable(t: TableResult): Table {
  const r3 = (v: number | null) => (v === null || !Number.isFinite(v) ? null : +v.toFixed(4));
  return {
    name: 'scores',
    caption: 'Every method x every score per dataset and model: mean over images, 95% bootstrap interval, chance level.',
    rows: t.rows.map((r) => ({ ...r, value: r3(r.value), low: r3(r.low), high: r3(r.high), chance: r3(r.chance) })),
  };
}

/** Wall time of each method's maps, per model. */
export function costTable(maps: MapsResult): Table {
  return {
    name: 'method-cost',
    caption: 'Seconds to explain the scored images, per method and model (one run, this machine; see the provenance for the load).',
    rows: maps.maps.map((m) => ({
      dataset: m.dataset,
      model: m.model,
      method: m.method,
      images: m.maps.n,
      seconds: +m.seconds.toFixed(2),
    })),
  };
}

/** results.json, claims, figures and tables from the steps' results. */
export async function output(s: ScoresSession, maps: MapsResult, t: TableResult): Promise<StudyOutput> {
  const claims = scoresClaims(t, s.rng.fork('claims'), s.config.resamples);
  const results = {
    scale: s.ctx.scale,
    seed: s.ctx.seed,
    backend: s.engine.backend,
    config: s.config,
    rules: CLAIM_RULES,
    scores: SCORES.map((e) => e.info),
    datasets: s.datasets.map((d) => ({
      dataset: d.name,
      images: d.labels.length,
      truth: d.truth,
      meanPartShare: d.masks.reduce((a, m) => a + m.reduce((x, v) => x + v, 0) / m.length, 0) / d.masks.length,
      emptyMasks: d.masks.filter((m) => !m.some((v) => v)).length,
      models: d.models.map((m) => ({
        key: m.key,
        label: m.label,
        config: m.config,
        accuracy: m.accuracy,
        accuracyInterval: m.accuracyInterval,
        fromCache: m.fromCache,
      })),
    })),
    table: t.rows,
    curves: t.curves,
    skipped: maps.skipped,
    methodSeconds: maps.maps.map((m) => ({ dataset: m.dataset, model: m.model, method: m.method, seconds: m.seconds })),
    seconds: s.seconds,
  };
  const figs = await figures.scoresFigures(t, maps, s.datasets, s.config.gridImages);
  return { results, claims, figures: figs, tables: [modelsTable(s), scoreRowsTable(t), costTable(maps)] };
}

/** The whole study: models, maps, scores, figures and claims. */
export async function runScores(ctx: StudyContext): Promise<StudyOutput> {
  const s = await prepare(ctx);
  try {
    const maps = computeMaps(s);
    const t = timed(s, 'scores', () => scoreTable(s, maps));
    return await output(s, maps, t);
  } finally {
    dispose(s);
  }
}

/**
 * The steps, for a notebook:
 * ```ts
 * const s = await scoresSteps.prepare(ctx);      // images, part masks, the other studies' models (cache)
 * const maps = scoresSteps.computeMaps(s);       // every applicable method on every model
 * const t = scoresSteps.scoreTable(s, maps);     // every score, intervals over images, chance levels
 * const out = await scoresSteps.output(s, maps, t);
 * ```
 */
export const scoresSteps = {
  prepare,
  computeMaps,
  scoreTable,
  output,
  modelsTable,
  scoreRowsTable,
  costTable,
  figures,
  claims: scoresClaims,
  dispose,
};

export const study: Study = {
  name: 'scores',
  title: 'Explanations scored against ground truth, across every method in the suite',
  paper:
    'Adebayo et al. 2018 (sanity checks); Petsiuk et al. 2018 (deletion/insertion); Zhang et al. 2016 (pointing game); ' +
    "Chalasani et al. 2020 (sparseness); the methods' own papers",
  summary:
    'Every explanation method (saliency, gradient x input, integrated gradients, occlusion, sliding window, CAM, Grad-CAM, BagNet ' +
    "patches and sweep, prototype activations, crisp masks) on the other studies' parts-birds (ProtoPNet included) and " +
    "facades models, scored against the worlds' " +
    'discriminative parts (pointing game, energy in mask), by deletion and insertion, by the model-randomisation cascade and by ' +
    'sparseness, with bootstrap intervals over images and chance levels.',
  notebook: 'notebooks/06-explanation-scores.ipynb',
  run: runScores,
};

export { SCORES_CONFIGS, CLAIM_RULES } from './config';
export type { ScoresConfig } from './config';
export type { MapsResult } from './maps';
export type { ScoresSession } from './session';
export type { TableResult, ScoreRow } from './table';

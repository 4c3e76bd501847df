import { meanInterval } from '../../analysis/intervals';
import { methodEntry } from '../../explain/index';
import { ChanceResult, ExplanationScore, finiteMean, RandomisationInput, ScoreResult, SCORES } from '../../explain/scores/index';
import { explainWith, MapsResult, mapsOf } from './maps';
import { freshModel, ScoredDataset, ScoredModel, ScoresSession } from './session';

/**
 * The cross-method table: every score of every applicable method on every model, one row per (dataset, model,
 * method, metric) with the mean over images, its bootstrap interval and the chance level on the same images. The
 * per-image values are kept (the claims pair them) and so are the mean curves of deletion, insertion and the
 * randomisation cascade.
 */

/** One cell of the table (results.json `table`). */
export interface ScoreRow {
  dataset: string;
  model: string;
  method: string;
  metric: string;
  /** Mean over the images where the score is defined, with its 95% bootstrap interval over those images. */
  value: number;
  low: number;
  high: number;
  /** Mean chance level over the same images (null: the score has none). */
  chance: number | null;
  images: number;
}

/** Per-image scores of one cell (NaN where undefined) and the chance of each image (null: none). */
export interface CellValues {
  dataset: string;
  model: string;
  method: string;
  metric: string;
  values: number[];
  chance: number[] | null;
}

/** A mean curve of one cell (deletion, insertion: against the removed fraction; randomisation: the cascade). */
export interface MeanCurve {
  dataset: string;
  model: string;
  method: string;
  metric: string;
  x: number[];
  y: number[];
  /** The chance curve on the same images (deletion and insertion: random cell orders). */
  chance?: number[];
}

export interface TableResult {
  rows: ScoreRow[];
  cells: CellValues[];
  curves: MeanCurve[];
}

/** The scores at the session's settings, in registry order. */
export function studyScores(s: ScoresSession): ExplanationScore[] {
  const c = s.config;
  const rng = s.rng.fork('perturbation-orders');
  return SCORES.map((e) =>
    e.create({
      tolerance: c.pointingTolerance,
      perturbation: { ...c.perturbation, fill: 'mean', rng, progress: false },
      randomisation: { ...c.randomisation, progress: false },
    }),
  );
}

/** Column means of per-image curves. */
function meanCurve(y: number[][]): number[] {
  return y[0].map((_, j) => finiteMean(y.map((r) => r[j])));
}

/** Scores of every method on one model. */
function modelCells(
  s: ScoresSession,
  d: ScoredDataset,
  m: ScoredModel,
  maps: MapsResult,
  scores: ExplanationScore[],
  out: TableResult,
): void {
  const r = Math.min(s.config.randomisationImages, d.labels.length);
  const xr = d.x.slice(0, r);
  const chanceInput = { masks: d.masks, model: m.model, x: d.x, targets: d.labels, height: d.height, width: d.width };
  const chances = new Map<string, ChanceResult>();
  for (const score of scores) {
    if (!score.chance) continue;
    const input = score.info.id === 'randomisation' ? { ...chanceInput, x: xr, targets: d.labels.slice(0, r) } : chanceInput;
    chances.set(score.info.id, score.chance(input));
  }
  const fresh = () =>
    freshModel(
      m,
      { inputShape: [d.height, d.width, d.channels], numClasses: d.classNames.length },
      s.rng.fork(`randomise/${d.name}/${m.key}`),
    );
  const methods = maps.maps.filter((e) => e.dataset === d.name && e.model === m.key);
  for (const { method, maps: hm } of methods) {
    // A method may explain only the first images (the crisp mask): score it on those.
    const n = hm.n;
    const x = n < d.labels.length ? d.x.slice(0, n) : d.x;
    const masks = d.masks.slice(0, n);
    const rn = Math.min(r, n);
    for (const score of scores) {
      const id = score.info.id;
      const t0 = Date.now();
      let res: ScoreResult;
      if (id === 'randomisation') {
        const entry = methodEntry(method);
        const xm = rn < r ? xr.slice(0, rn) : xr;
        const input: RandomisationInput = {
          maps: mapsOf(maps, d.name, m.key, method, rn)!,
          model: m.model,
          x: xm,
          explain: (w) => explainWith(entry, m, w, xm, d.labels.slice(0, rn), s.config),
          fresh,
        };
        res = score.score(input);
        if (xm !== xr) xm.dispose();
      } else {
        res = score.score({ maps: hm, masks, model: m.model, x });
      }
      s.seconds[`score ${id}`] = (s.seconds[`score ${id}`] ?? 0) + (Date.now() - t0) / 1000;
      const all = chances.get(id);
      const chance = all && {
        values: all.values.slice(0, res.values.length),
        curve: all.curve && { ...all.curve, y: all.curve.y.slice(0, res.values.length) },
      };
      out.cells.push({ dataset: d.name, model: m.key, method, metric: id, values: res.values, chance: chance?.values ?? null });
      const defined = res.values.map((v, i) => i).filter((i) => Number.isFinite(res.values[i]));
      const values = defined.map((i) => res.values[i]);
      const iv = values.length
        ? meanInterval(values, s.rng.fork(`bootstrap/${d.name}/${m.key}/${method}/${id}`), {
            resamples: s.config.resamples,
            unit: 'images',
          })
        : { low: NaN, high: NaN };
      out.rows.push({
        dataset: d.name,
        model: m.key,
        method,
        metric: id,
        value: finiteMean(values),
        low: iv.low,
        high: iv.high,
        chance: chance ? finiteMean(defined.map((i) => chance.values[i])) : null,
        images: values.length,
      });
      if (res.curve) {
        out.curves.push({
          dataset: d.name,
          model: m.key,
          method,
          metric: id,
          x: res.curve.x,
          y: meanCurve(res.curve.y),
          chance: chance?.curve ? meanCurve(chance.curve.y) : undefined,
        });
      }
    }
    if (x !== d.x) x.dispose();
    console.log(`${d.name} ${m.label} ${method}: scored`);
  }
  xr.dispose();
}

/** The whole table: every dataset, model, method and score. */
export function scoreTable(s: ScoresSession, maps: MapsResult): TableResult {
  const scores = studyScores(s);
  const out: TableResult = { rows: [], cells: [], curves: [] };
  for (const d of s.datasets) for (const m of d.models) modelCells(s, d, m, maps, scores, out);
  return out;
}

/** The per-image values of one cell. */
export function cellOf(t: TableResult, dataset: string, model: string, method: string, metric: string): CellValues | undefined {
  return t.cells.find((c) => c.dataset === dataset && c.model === model && c.method === method && c.metric === metric);
}

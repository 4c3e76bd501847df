import { SCORES } from '../../explain/scores/index';
import { METHODS } from '../../explain/index';
import { fromBytes } from '../../plot/images';
import { linePanels } from '../../plot/line';
import { matrixTable } from '../../plot/matrix';
import { labelledPanels, PanelCell } from '../../plot/panels';
import type { Figure } from '../types';
import type { MapsResult } from './maps';
import { mapsOf } from './maps';
import type { ScoredDataset } from './session';
import type { MeanCurve, ScoreRow, TableResult } from './table';

const methodLabel = (id: string) => METHODS.find((m) => m.info.id === id)?.info.label ?? id;
const scoreInfo = (id: string) => SCORES.find((s) => s.info.id === id)!.info;
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');

/** One colour per method (and grey for chance), the same in every panel and figure. */
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#bcbd22', '#17becf', '#393b79', '#637939'];
const COLOURS: Record<string, string> = {
  ...Object.fromEntries(METHODS.map((m, i) => [m.info.label, PALETTE[i % PALETTE.length]])),
  'random order (chance)': '#7f7f7f',
};

/** Short two-line column titles of the scores. */
const SHORT: Record<string, string> = {
  'pointing-game': 'pointing<br>game',
  'energy-in-mask': 'energy<br>in mask',
  deletion: 'deletion<br>AUC',
  insertion: 'insertion<br>AUC',
  randomisation: 'randomisation<br>Spearman',
  sparseness: 'sparseness<br>(Gini)',
};

/**
 * The method x metric table of one dataset as a heatmap: a row per (model, method), a column per metric. A cell's
 * shade is its rank among the methods of the same model in that column, best = 1 (direction-aware: lower is better
 * for deletion and randomisation; scores of different models are not comparable: deletion depends on the model's
 * confidence); its text the mean and the chance level in brackets where the metric has one.
 */
export function tableFigure(rows: ScoreRow[], d: ScoredDataset): Figure {
  const mine = rows.filter((r) => r.dataset === d.name);
  const metrics = SCORES.map((s) => s.info.id).filter((id) => mine.some((r) => r.metric === id));
  const entries = [...new Set(mine.map((r) => `${r.model}\u0000${r.method}`))].map((k) => k.split('\u0000'));
  const modelLabel = (key: string) => d.models.find((m) => m.key === key)?.label ?? key;
  const cell = (model: string, method: string, metric: string) =>
    mine.find((r) => r.model === model && r.method === method && r.metric === metric);
  const shade = entries.map(([model, method]) =>
    metrics.map((metric) => {
      const col = entries
        .filter(([mo]) => mo === model)
        .map(([mo, me]) => cell(mo, me, metric)?.value ?? NaN)
        .filter(Number.isFinite);
      const v = cell(model, method, metric)?.value ?? NaN;
      if (!Number.isFinite(v) || col.length < 2) return NaN;
      const better = col.filter((c) => (scoreInfo(metric).direction === 'higher' ? c < v : c > v)).length;
      return better / (col.length - 1);
    }),
  );
  const text = entries.map(([model, method]) =>
    metrics.map((metric) => {
      const c = cell(model, method, metric);
      if (!c) return '';
      return c.chance === null ? f2(c.value) : `${f2(c.value)} (${f2(c.chance)})`;
    }),
  );
  const spec = matrixTable({
    title: `${d.label}: every method x every score (mean over images; chance in brackets)`,
    rows: entries.map(([model, method]) => `${modelLabel(model)} · ${methodLabel(method)}`),
    cols: metrics.map((m) => `${SHORT[m] ?? scoreInfo(m).label} ${scoreInfo(m).direction === 'higher' ? '↑' : '↓'}`),
    shade,
    text,
    colourTitle: 'rank within<br>the model<br>(1 = best)',
  });
  return {
    name: `table-${d.name}`,
    caption:
      `Every applicable method on every ${d.label} model, scored by every metric: mean over the scored images (intervals in ` +
      'results.json), chance level in brackets; shade = rank among the methods of the same model, 1 = best (arrows: which ' +
      'direction is better).',
    spec,
  };
}

/** Deletion or insertion curves: one panel per model, one line per method, the random-order chance dashed. */
export function curveFigure(curves: MeanCurve[], metric: 'deletion' | 'insertion', datasets: ScoredDataset[]): Figure {
  const panels = datasets.flatMap((d) =>
    d.models.map((m) => {
      const mine = curves.filter((c) => c.dataset === d.name && c.model === m.key && c.metric === metric);
      const chance = mine.find((c) => c.chance)?.chance;
      return {
        title: `${d.name}: ${m.label}`,
        series: [
          ...mine.map((c) => ({ name: methodLabel(c.method), x: c.x, y: c.y })),
          ...(chance ? [{ name: 'random order (chance)', x: mine[0].x, y: chance, dash: 'dash' }] : []),
        ],
      };
    }),
  );
  const verb = metric === 'deletion' ? 'removed' : 'restored';
  return {
    name: `${metric}-curves`,
    caption:
      `${metric === 'deletion' ? 'Deletion' : 'Insertion'} curves: mean probability of the true class as image cells are ${verb} ` +
      "most important first (removed cells take the image's mean colour, as in occlusion); dashed: random cell orders.",
    spec: linePanels({
      title: `${metric === 'deletion' ? 'Deletion' : 'Insertion'} curves`,
      xTitle: `fraction ${verb}`,
      yTitle: 'p(class)',
      panels,
      colours: COLOURS,
    }),
  };
}

/** The randomisation cascade: rank correlation against the number of re-initialised layers, per model and method. */
export function cascadeFigure(curves: MeanCurve[], datasets: ScoredDataset[]): Figure {
  const panels = datasets.flatMap((d) =>
    d.models.map((m) => ({
      title: `${d.name}: ${m.label}`,
      series: curves
        .filter((c) => c.dataset === d.name && c.model === m.key && c.metric === 'randomisation')
        .map((c) => ({ name: methodLabel(c.method), x: [0, ...c.x], y: [1, ...c.y] })),
    })),
  );
  return {
    name: 'randomisation-cascade',
    caption:
      "Cascading model randomisation (Adebayo et al. 2018): Spearman correlation of each method's maps on the trained model and " +
      'after re-initialising the top k weighted layers (0 layers: the trained map itself, 1 by definition).',
    spec: linePanels({
      title: 'Model randomisation cascade',
      xTitle: 're-initialised layers (from the top)',
      yTitle: 'Spearman',
      panels,
      colours: COLOURS,
    }),
  };
}

/**
 * A grid of maps: the first `count` scored images of the dataset under every method (rows) on every model (columns:
 * model x image); the top row shows the images with the discriminative parts outlined.
 */
export async function gridFigure(maps: MapsResult, d: ScoredDataset, count: number): Promise<Figure> {
  const hwc = d.height * d.width * d.channels;
  const n = Math.min(count, d.labels.length);
  const image = (i: number) => fromBytes(d.pixels.slice(i * hwc, (i + 1) * hwc), d.width, d.height, d.channels);
  const columns = d.models.flatMap((m) => Array.from({ length: n }, (_, i) => ({ m, i })));
  const methods = METHODS.map((e) => e.info.id).filter((id) => maps.maps.some((e) => e.dataset === d.name && e.method === id));
  const rows: (PanelCell | undefined)[][] = [
    columns.map(({ i }) => ({ image: image(i), contours: [{ mask: d.masks[i] }] })),
    ...methods.map((method) =>
      columns.map(({ m, i }) => {
        const h = mapsOf(maps, d.name, m.key, method);
        return h ? { maps: h, index: i } : undefined;
      }),
    ),
  ];
  const spec = await labelledPanels({
    title: `${d.label}: maps of every method (columns: model, image)`,
    rows,
    colLabels: columns.map(({ m, i }) => `${m.key} #${i}`),
    rowLabels: ['image (parts outlined)', ...methods.map(methodLabel)],
    scale: 2,
  });
  return {
    name: `maps-${d.name}`,
    caption:
      `The same ${d.label} test images explained by every method on every model (blank: the method does not apply). Top row: the ` +
      `images, ${d.truth} outlined in green. Signed maps: red for, blue against the class; unsigned: hot colours.`,
    spec,
  };
}

/** Every figure of the study. */
export async function scoresFigures(t: TableResult, maps: MapsResult, datasets: ScoredDataset[], gridImages: number): Promise<Figure[]> {
  const out: Figure[] = datasets.map((d) => tableFigure(t.rows, d));
  out.push(curveFigure(t.curves, 'deletion', datasets), curveFigure(t.curves, 'insertion', datasets), cascadeFigure(t.curves, datasets));
  for (const d of datasets) out.push(await gridFigure(maps, d, gridImages));
  return out;
}

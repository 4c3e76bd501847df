import { heatmap } from '../../plot/images';
import { lineChart } from '../../plot/line';
import { labelledPanels, PanelCell } from '../../plot/panels';
import type { Figure } from '../types';
import type { CircularResult } from './circular';
import { ANCHOR_NAMES, LAYER_ROLES, LayerRole } from './maps';
import { ShiftWorld, variants } from './session';
import type { AverageMaps } from './summary';

/** Magnification that makes a side-px map about 90 px wide. */
const magnify = (side: number) => Math.max(1, Math.round(90 / side));

/** The lowest value of several maps (colour floor of a shared scale). */
function lowest(maps: ArrayLike<number>[]): number {
  let lo = Infinity;
  for (const m of maps) for (let i = 0; i < m.length; i++) lo = Math.min(lo, m[i]);
  return lo;
}

/** Validation accuracy after every epoch, per model (the plateau the models-plateau check reads). */
export function learningCurvesFigure(world: ShiftWorld): Figure {
  return {
    name: 'learning-curves',
    caption:
      `Validation accuracy after every epoch (${world.val.size} pasted objects not trained on), every model with ` +
      'the same images, epochs and schedule.',
    spec: lineChart({
      title: 'Validation accuracy per epoch',
      xTitle: 'epoch',
      yTitle: 'validation accuracy',
      yRange: [0, 1],
      series: world.models.map((m) => ({
        name: `${m.label} (seed ${m.seed})`,
        x: Array.from({ length: m.valCurve.length }, (_, e) => e + 1),
        y: m.valCurve,
      })),
    }),
  };
}

/**
 * Lee et al. Fig. 3-4 at our scale: rows model x layer, columns the 5 anchors; each cell the cosine of the feature at
 * every (y-shift, x-shift) to the anchor's feature, averaged over objects (and seeds); 'hot' colours from the layer's
 * lowest value (shared by every model, so baseline and anti-aliased rows compare) to 1; the anchor boxed.
 */
export async function globalMapsFigure(world: ShiftWorld, avg: AverageMaps): Promise<Figure> {
  const vs = variants(world);
  const rows: PanelCell[][] = [];
  const rowLabels: string[] = [];
  const floors: Record<LayerRole, number> = {} as Record<LayerRole, number>;
  for (const r of LAYER_ROLES) floors[r] = lowest(vs.flatMap((v) => avg.cos[v.variant][r]));
  for (const r of LAYER_ROLES) {
    for (const v of vs) {
      rowLabels.push(`${v.label} · ${r === 'penultimate' ? 'penult.' : r}`);
      rows.push(
        avg.cos[v.variant][r].map((m, a) => {
          const { i, j } = avg.anchors[a];
          return {
            image: heatmap(m, avg.side, avg.side, { cmap: 'hot', vmin: floors[r], vmax: 1 }),
            boxes: [{ y0: j, x0: i, y1: j + 1, x1: i + 1, colour: [0, 160, 255] }],
          };
        }),
      );
    }
  }
  return {
    name: `global-maps-${avg.condition}`,
    caption:
      `Lee et al. Fig. 3-4 at laptop scale (${avg.label}, ${avg.side}x${avg.side} positions): cosine similarity of the feature at ` +
      'every object position (y = vertical, x = horizontal offset) to the feature at each anchor (blue box), averaged over objects; ' +
      `'hot' colours from the layer's lowest value to 1 (${LAYER_ROLES.map((r) => `${r} from ${floors[r].toFixed(2)}`).join(', ')}).`,
    spec: await labelledPanels({
      title: `Global shift maps — ${avg.label}`,
      rows,
      colLabels: [...ANCHOR_NAMES],
      rowLabels,
      scale: magnify(avg.side),
    }),
  };
}

/** Accuracy and true-class probability at every object position, averaged over objects, per model. */
export async function accuracyMapsFigure(world: ShiftWorld, avg: AverageMaps): Promise<Figure> {
  const vs = variants(world);
  const cell = (m: Float32Array): PanelCell => ({ image: heatmap(m, avg.side, avg.side, { cmap: 'viridis', vmin: 0, vmax: 1 }) });
  return {
    name: `accuracy-maps-${avg.condition}`,
    caption:
      `Share of objects classified right (left) and mean softmax probability of the true class (right) at every object position ` +
      `(${avg.label}); viridis from 0 to 1.`,
    spec: await labelledPanels({
      title: `Over position — ${avg.label}`,
      rows: vs.map((v) => [cell(avg.accuracy[v.variant]), cell(avg.prob[v.variant])]),
      colLabels: ['accuracy', 'p(true class)'],
      rowLabels: vs.map((v) => v.label),
      scale: magnify(avg.side),
    }),
  };
}

/**
 * Zhang's CIFAR-style figure: per model (first seed) and layer, the cosine distance of the pooled features under every
 * circular shift (dy down, dx right), averaged over objects; 'hot' from 0 to the layer's largest distance.
 */
export async function circularFigure(world: ShiftWorld, circ: CircularResult): Promise<Figure> {
  const firstSeed = variants(world).map((v) => v.models[0]);
  const ceiling = (r: LayerRole) => Math.max(1e-6, ...firstSeed.flatMap((m) => Array.from(circ.distance[m.key][r])));
  const top = Object.fromEntries(LAYER_ROLES.map((r) => [r, ceiling(r)])) as Record<LayerRole, number>;
  return {
    name: `circular-shifts-${circ.condition}`,
    caption:
      `Cosine distance between the pooled features of an object rolled circularly by (dy, dx), 0 <= dy, dx < ${circ.shifts}, and of the ` +
      `unrolled object (${circ.objects} objects, ${circ.condition}); columns: layers, 'hot' from 0 to the layer's largest distance ` +
      `(${LAYER_ROLES.map((r) => `${r} ${top[r].toExponential(1)}`).join(', ')}).`,
    spec: await labelledPanels({
      title: 'Circular-shift distances',
      rows: firstSeed.map((m) =>
        LAYER_ROLES.map((r) => ({
          image: heatmap(circ.distance[m.key][r], circ.shifts, circ.shifts, { cmap: 'hot', vmin: 0, vmax: top[r] }),
        })),
      ),
      colLabels: [...LAYER_ROLES],
      rowLabels: firstSeed.map((m) => m.label),
      scale: magnify(circ.shifts),
    }),
  };
}

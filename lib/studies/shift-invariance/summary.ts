import { consistency, localVariation, periodicPeak } from '../../analysis/shift';
import { mean } from '../../analysis/stats';
import type { Antialias } from '../../models/common';
import { ANCHOR_NAMES, AnchorName, ConditionMaps, LAYER_ROLES, LayerRole, PROBE_ROLES } from './maps';
import { ShiftWorld, variants } from './session';

type PerLayer<T> = Record<LayerRole, T>;
type ProbeRole = (typeof PROBE_ROLES)[number];

/** One variant (architecture x filter) on one condition: per-object numbers (each averaged over the seeds). */
export interface VariantSummary {
  variant: string;
  label: string;
  arch: string;
  antialias: Antialias;
  stride: number;
  /** Mean cosine to each anchor over all positions. */
  meanCos: PerLayer<Record<AnchorName, number[]>>;
  /** Mean of the four corner anchors' mean cosines. */
  corners: PerLayer<number[]>;
  /** Mean cosine over the nearest third of positions minus the farthest third (distance to the anchor), mean over anchors. */
  fallOff: PerLayer<number[]>;
  /** Mean |delta cos| between 1-px neighbours of the centre anchor's map. */
  localVariation: PerLayer<number[]>;
  /** Periodic peak of the centre anchor's map at the network stride (analysis/shift periodicPeak). */
  periodicPeak: PerLayer<number[]>;
  /** Top-1 consistency over position pairs, accuracy over positions, mean and minimum true-class probability. */
  consistency: number[];
  accuracy: number[];
  meanProb: number[];
  minProb: number[];
  /** Probe accuracy (top/bottom and left/right averaged) per probed object. */
  probe: Record<ProbeRole, number[]>;
  probeAxes: Record<ProbeRole, { rows: number[]; columns: number[] }>;
}

export interface ConditionSummary {
  condition: string;
  label: string;
  objectSize: number;
  side: number;
  objects: number;
  seeds: number;
  variants: VariantSummary[];
}

/** Maps averaged over objects and seeds, for the figures (row-major [side*side]). */
export interface AverageMaps {
  condition: string;
  label: string;
  side: number;
  anchors: ConditionMaps['anchors'];
  /** Per variant: per layer, one map per anchor. */
  cos: Record<string, PerLayer<Float32Array[]>>;
  /** Per variant: share of objects classified right, and mean true-class probability, at every position. */
  accuracy: Record<string, Float32Array>;
  prob: Record<string, Float32Array>;
}

/** Mean of the four corners' values. */
function cornerMean(v: Record<AnchorName, number>): number {
  return (v.TL + v.TR + v.BL + v.BR) / 4;
}

/** Nearest-third minus farthest-third mean of a map around an anchor (positions ranked by distance). */
export function fallOff(map: ArrayLike<number>, side: number, ai: number, aj: number): number {
  const order = Array.from({ length: side * side }, (_, p) => p).sort((a, b) => {
    const d = (p: number) => ((p % side) - ai) ** 2 + (Math.floor(p / side) - aj) ** 2;
    return d(a) - d(b) || a - b;
  });
  const third = Math.floor(order.length / 3);
  const avg = (ps: number[]) => ps.reduce((s, p) => s + map[p], 0) / ps.length;
  return avg(order.slice(0, third)) - avg(order.slice(order.length - third));
}

/** Per-object numbers and object-averaged maps of every variant on one condition. */
export function summarise(world: ShiftWorld, cm: ConditionMaps): { summary: ConditionSummary; averages: AverageMaps } {
  const { side, anchors } = cm;
  const P = side * side;
  const nObj = cm.objects.length;
  const vs = variants(world);
  const averages: AverageMaps = { condition: cm.condition.name, label: cm.condition.label, side, anchors, cos: {}, accuracy: {}, prob: {} };
  const perLayer = <T>(f: (r: LayerRole) => T) => Object.fromEntries(LAYER_ROLES.map((r) => [r, f(r)])) as PerLayer<T>;
  const summaries = vs.map((v) => {
    const runs = v.models.map((m) => cm.models[m.key]);
    // Per object, the mean over seeds of a per-(seed, object) number.
    const perObject = (f: (seed: number, o: number) => number) => Array.from({ length: nObj }, (_, o) => mean(runs.map((_, s) => f(s, o))));
    const cosMean = (r: LayerRole, a: number) => perObject((s, o) => mean(runs[s][o].cos[r][a]));
    const meanCos = perLayer(
      (r) => Object.fromEntries(ANCHOR_NAMES.map((name, a) => [name, cosMean(r, a)])) as Record<AnchorName, number[]>,
    );
    const centre = ANCHOR_NAMES.indexOf('C');
    const probed = runs[0].filter((x) => x.probe).length;
    const probeAxes = Object.fromEntries(
      PROBE_ROLES.map((r) => {
        const axis = (ax: 'rows' | 'columns') => Array.from({ length: probed }, (_, o) => mean(runs.map((run) => run[o].probe![r][ax])));
        return [r, { rows: axis('rows'), columns: axis('columns') }];
      }),
    ) as VariantSummary['probeAxes'];
    const summary: VariantSummary = {
      variant: v.variant,
      label: v.label,
      arch: v.arch.key,
      antialias: v.antialias,
      stride: v.stride,
      meanCos,
      corners: perLayer((r) =>
        meanCos[r].TL.map((_, o) =>
          cornerMean({ TL: meanCos[r].TL[o], TR: meanCos[r].TR[o], C: 0, BL: meanCos[r].BL[o], BR: meanCos[r].BR[o] }),
        ),
      ),
      fallOff: perLayer((r) => perObject((s, o) => mean(anchors.map((an, a) => fallOff(runs[s][o].cos[r][a], side, an.i, an.j))))),
      localVariation: perLayer((r) => perObject((s, o) => localVariation(runs[s][o].cos[r][centre], side, side))),
      periodicPeak: perLayer((r) => perObject((s, o) => periodicPeak(runs[s][o].cos[r][centre], side, side, v.stride))),
      consistency: perObject((s, o) => consistency(runs[s][o].top1)),
      accuracy: perObject((s, o) => mean(Array.from(runs[s][o].top1, (t) => +(t === cm.objects[o].label)))),
      meanProb: perObject((s, o) => mean(runs[s][o].prob)),
      minProb: perObject((s, o) => Math.min(...runs[s][o].prob)),
      probe: Object.fromEntries(
        PROBE_ROLES.map((r) => [r, probeAxes[r].rows.map((x, o) => (x + probeAxes[r].columns[o]) / 2)]),
      ) as VariantSummary['probe'],
      probeAxes,
    };
    const avg = (get: (s: number, o: number) => ArrayLike<number>) => {
      const out = new Float32Array(P);
      const n = runs.length * nObj;
      for (let s = 0; s < runs.length; s++)
        for (let o = 0; o < nObj; o++) {
          const m = get(s, o);
          for (let p = 0; p < P; p++) out[p] += m[p] / n;
        }
      return out;
    };
    averages.cos[v.variant] = perLayer((r) => ANCHOR_NAMES.map((_, a) => avg((s, o) => runs[s][o].cos[r][a])));
    averages.accuracy[v.variant] = avg((s, o) => Array.from(runs[s][o].top1, (t) => +(t === cm.objects[o].label)));
    averages.prob[v.variant] = avg((s, o) => runs[s][o].prob);
    return summary;
  });
  const c = cm.condition;
  return {
    summary: {
      condition: c.name,
      label: c.label,
      objectSize: c.objectSize,
      side,
      objects: nObj,
      seeds: world.session.config.seeds,
      variants: summaries,
    },
    averages,
  };
}

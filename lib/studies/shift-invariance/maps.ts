import * as tf from '@tensorflow/tfjs';
import { anchorCosines, halfLabels, probeAccuracy } from '../../analysis/shift';
import type { ShiftedObjects } from '../../data/synthetic/shifted';
import { extractFeatures } from '../../models/features';
import { Progress } from '../../util/progress';
import type { ShiftCondition } from './config';
import { objectGenerator, ShiftWorld, timed } from './session';

/** The compared layers, by role. */
export const LAYER_ROLES = ['early', 'penultimate', 'logits'] as const;
export type LayerRole = (typeof LAYER_ROLES)[number];
export const ANCHOR_NAMES = ['TL', 'TR', 'C', 'BL', 'BR'] as const;
export type AnchorName = (typeof ANCHOR_NAMES)[number];
/** The layers the position probe reads (vectors; the early conv map is position-coded by construction). */
export const PROBE_ROLES = ['penultimate', 'logits'] as const;

/** What one model gives for one object at every position of the grid (maps are row-major [side*side]). */
export interface ObjectMaps {
  /** Per layer role, one cosine map per anchor (ANCHOR_NAMES order). */
  cos: Record<LayerRole, Float32Array[]>;
  /** Top-1 class and softmax probability of the object's true class at every position. */
  top1: Int32Array;
  prob: Float32Array;
  /** Probe accuracy (top/bottom = rows, left/right = columns) per probed layer; only for the first probe.objects objects. */
  probe?: Record<(typeof PROBE_ROLES)[number], { rows: number; columns: number }>;
}

/** One condition (object size, background) shifted exhaustively, measured by every model. */
export interface ConditionMaps {
  condition: ShiftCondition;
  /** Positions per axis, the anchors' grid indices. */
  side: number;
  anchors: { name: AnchorName; i: number; j: number }[];
  /** The objects: class label and name. */
  objects: { label: number; name: string }[];
  /** Per model key: per object. */
  models: Record<string, ObjectMaps[]>;
}

/** The shifted-objects generator of one condition (the world's objects, the run's seed). */
export function conditionObjects(world: ShiftWorld, condition: ShiftCondition): ShiftedObjects {
  const { config: cfg, ctx } = world.session;
  return objectGenerator(world.items, cfg.objects, cfg.canvas, condition.objectSize, condition.background, ctx.seed);
}

/**
 * Experiments 1-3 of Lee et al. on one condition: every object at every position of the stride-1 grid (rendered once
 * per object, never the whole set), through every model: cosine maps of the early conv, penultimate and logit
 * features to the five anchors, top-1 and true-class probability at every position, and the linear position probe.
 */
export async function shiftMaps(world: ShiftWorld, conditionName: string): Promise<ConditionMaps> {
  const { config: cfg } = world.session;
  const condition = cfg.conditions.find((c) => c.name === conditionName);
  if (!condition)
    throw new Error(
      `shift-invariance: no condition "${conditionName}" at this scale; expected one of ${cfg.conditions.map((c) => c.name).join(', ')}`,
    );
  return timed(world, `maps-${conditionName}`, () => {
    const gen = conditionObjects(world, condition);
    const side = gen.positions;
    const anchors = gen.anchors().map(({ name, i, j }) => ({ name, i, j }));
    const anchorRows = anchors.map((a) => a.j * side + a.i);
    const offsets: [number, number][] = [];
    for (let j = 0; j < side; j++) for (let i = 0; i < side; i++) offsets.push([i * gen.stride, j * gen.stride]);
    const labels = { rows: halfLabels(side, side, 'rows'), columns: halfLabels(side, side, 'columns') };
    const models: Record<string, ObjectMaps[]> = Object.fromEntries(world.models.map((m) => [m.key, []]));
    const bar = new Progress(
      `shift-invariance ${condition.name}: ${gen.sprites.length} objects x ${world.models.length} models, ${side * side} positions`,
      gen.sprites.length * world.models.length,
    );
    const probeRng = world.session.rng.fork(`probe-${condition.name}`);
    gen.sprites.forEach((sprite, o) => {
      const x = gen.tensor(o, offsets);
      for (const m of world.models) {
        const names = LAYER_ROLES.map((r) => m.arch.layers[r]);
        const feats = extractFeatures(m.model, names, x, cfg.batchSize);
        const flat = LAYER_ROLES.map((_, k) => tf.tidy(() => feats[names[k]].reshape([side * side, -1]) as tf.Tensor2D));
        const cos = Object.fromEntries(LAYER_ROLES.map((r, k) => [r, anchorCosines(flat[k], anchorRows)])) as ObjectMaps['cos'];
        const logits = flat[LAYER_ROLES.indexOf('logits')];
        const [top1T, probT] = tf.tidy(() => [tf.argMax(logits, 1), tf.softmax(logits).slice([0, sprite.label], [-1, 1]).reshape([-1])]);
        const maps: ObjectMaps = { cos, top1: top1T.dataSync() as Int32Array, prob: probT.dataSync() as Float32Array };
        if (o < cfg.probe.objects) {
          const probe = {} as NonNullable<ObjectMaps['probe']>;
          for (const r of PROBE_ROLES) {
            const t = flat[LAYER_ROLES.indexOf(r)];
            const values = t.dataSync();
            const d = t.shape[1];
            const fit = (axis: 'rows' | 'columns') =>
              probeAccuracy(values, d, labels[axis], probeRng.fork(`${m.key}/${o}/${r}/${axis}`), {
                folds: cfg.probe.folds,
                ridge: cfg.probe.ridge,
              });
            probe[r] = { rows: fit('rows'), columns: fit('columns') };
          }
          maps.probe = probe;
        }
        models[m.key].push(maps);
        tf.dispose([...Object.values(feats), ...flat, top1T, probT]);
        bar.tick();
      }
      x.dispose();
    });
    bar.finish();
    return { condition, side, anchors, objects: gen.sprites.map((s) => ({ label: s.label, name: s.name })), models };
  });
}

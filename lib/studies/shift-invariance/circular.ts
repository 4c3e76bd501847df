import * as tf from '@tensorflow/tfjs';
import { anchorCosines, circularShiftGrid, pooledFeatures } from '../../analysis/shift';
import { extractFeatures } from '../../models/features';
import { Progress } from '../../util/progress';
import { conditionObjects, LAYER_ROLES, LayerRole } from './maps';
import { ShiftWorld, timed } from './session';

/** Zhang-style circular-shift maps: per model key and layer, the mean cosine distance [shifts*shifts] over objects. */
export interface CircularResult {
  condition: string;
  shifts: number;
  objects: number;
  /** distance[modelKey][role][dy * shifts + dx] = mean over objects of 1 - cos(pooled F(roll(x)), pooled F(x)). */
  distance: Record<string, Record<LayerRole, Float32Array>>;
}

/**
 * Each object of the first condition, centred on the canvas, rolled circularly by every (dy, dx) in [0, shifts)^2;
 * per layer the cosine distance between the pooled features (spatial maps averaged over positions, vectors as they
 * are) of the rolled and the unrolled image, averaged over objects.
 */
export async function circularShifts(world: ShiftWorld): Promise<CircularResult> {
  const { config: cfg } = world.session;
  const condition = cfg.conditions[0];
  const { shifts, objects } = cfg.circular;
  return timed(world, 'circular', () => {
    const gen = conditionObjects(world, condition);
    const n = Math.min(objects, gen.sprites.length);
    const centre = Math.floor((cfg.canvas - condition.objectSize) / 2);
    const grid: [number, number][] = [];
    for (let dy = 0; dy < shifts; dy++) for (let dx = 0; dx < shifts; dx++) grid.push([dy, dx]);
    const distance: CircularResult['distance'] = {};
    for (const m of world.models)
      distance[m.key] = Object.fromEntries(LAYER_ROLES.map((r) => [r, new Float32Array(grid.length)])) as Record<LayerRole, Float32Array>;
    const bar = new Progress(
      `shift-invariance circular shifts: ${n} objects x ${world.models.length} models, ${grid.length} shifts`,
      n * world.models.length,
    );
    for (let o = 0; o < n; o++) {
      const base = gen.tensor(o, [[centre, centre]]);
      const rolled = circularShiftGrid(base, grid);
      for (const m of world.models) {
        const names = LAYER_ROLES.map((r) => m.arch.layers[r]);
        const feats = extractFeatures(m.model, names, rolled, cfg.batchSize);
        LAYER_ROLES.forEach((r, k) => {
          // Row 0 is the unrolled image (dy = dx = 0): the anchor.
          const pooled = pooledFeatures(feats[names[k]]);
          const cos = anchorCosines(pooled, [0])[0];
          const acc = distance[m.key][r];
          for (let p = 0; p < grid.length; p++) acc[p] += (1 - cos[p]) / n;
          pooled.dispose();
        });
        tf.dispose(Object.values(feats));
        bar.tick();
      }
      tf.dispose([base, rolled]);
    }
    bar.finish();
    return { condition: condition.name, shifts, objects: n, distance };
  });
}

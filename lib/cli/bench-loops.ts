/**
 * `tessera bench --loops`: images per second inside the loops the studies run most, against plain inference on the
 * same net. Net: the bench's reference net (28x28x1, three convs). Each loop's figure counts the model's input
 * images (windows, occluded variants, shifted copies), best of `reps` runs after a warm-up.
 * - predict: model.predict on 512 images (the bench's inference, batch as the loops use it);
 * - sliding window: SlidingWindow on 56x56 images (28-px windows at stride 2: 225 windows an image);
 * - occlusion: Occlusion on 28x28 images (7-px windows at stride 1: 484 variants an image, plus the clean image);
 * - shift sweep: every circular shift (dy, dx) in [0, 8)^2 of an image through extractFeatures at two layers (as the
 *   shift-invariance study's circular sweep does: 64 shifted copies an image).
 */
import * as tf from '@tensorflow/tfjs';
import { buildBenchNet } from '../engine/bench';
import { Occlusion, SlidingWindow } from '../explain/window';
import { extractFeatures } from '../models/features';
import { circularShiftGrid } from '../analysis/shift';

export interface LoopSpeed {
  loop: string;
  images_per_s: number;
  /** images_per_s / the predict figure. */
  of_predict: number;
}

/** Best images/s of `reps` timed calls of fn (which runs `images` model inputs), after one warm-up call. */
function bestIps(fn: () => void, images: number, reps: number): number {
  fn();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return images / best;
}

/** The loop measurements (see the module comment); the engine must be initialised. */
export function benchLoops(reps = 3): LoopSpeed[] {
  const model = buildBenchNet('reference');
  const x = tf.randomUniform([512, 28, 28, 1], 0, 1, 'float32', 0) as tf.Tensor4D;
  const big = tf.randomUniform([2, 56, 56, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const small = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
  const one = tf.randomUniform([1, 28, 28, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
  const targets = [0, 1];
  const runs: [string, number, () => void][] = [
    ['predict', 512, () => tf.tidy(() => (model.predict(x, { batchSize: 128 }) as tf.Tensor).dataSync())],
    ['sliding window', 2 * 225, () => new SlidingWindow(model, { window: 28, stride: 2 }).attribute(big, targets)],
    ['occlusion', 2 * (484 + 1), () => new Occlusion(model, { window: 7, stride: 1 }).attribute(small, targets)],
    [
      'shift sweep',
      64,
      () => {
        const shifted = circularShiftGrid(
          one,
          Array.from({ length: 64 }, (_, i) => [i >> 3, i & 7] as [number, number]),
        );
        const feats = extractFeatures(model, [model.layers[2].name, model.layers[4].name], shifted as tf.Tensor4D, 256);
        tf.dispose([shifted, ...Object.values(feats)]);
      },
    ],
  ];
  const out: LoopSpeed[] = [];
  for (const [loop, images, fn] of runs) {
    const ips = bestIps(fn, images, reps);
    out.push({ loop, images_per_s: Math.round(ips), of_predict: 0 });
  }
  const base = out[0].images_per_s;
  for (const o of out) o.of_predict = Math.round((o.images_per_s / base) * 100) / 100;
  tf.dispose([x, big, small, one]);
  model.dispose();
  return out;
}

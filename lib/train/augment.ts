import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import type { Augment } from './trainer';

/**
 * Random translation by up to `maxShift` pixels in each direction, filling with `fill` (default 0): pad, then crop
 * each image at an offset drawn from the Rng. Used to train the shift-invariance models.
 */
export function randomTranslate(maxShift: number, fill = 0): Augment {
  return (x: tf.Tensor4D, rng: Rng) =>
    tf.tidy(() => {
      const [n, h, w] = x.shape;
      const p = maxShift;
      const padded = tf.pad(
        x,
        [
          [0, 0],
          [p, p],
          [p, p],
          [0, 0],
        ],
        fill,
      );
      const crops: tf.Tensor4D[] = [];
      for (let i = 0; i < n; i++) {
        const dy = rng.int(2 * p + 1);
        const dx = rng.int(2 * p + 1);
        crops.push(padded.slice([i, dy, dx, 0], [1, h, w, -1]));
      }
      return tf.concat(crops, 0);
    });
}

/** Horizontal flip of each image with probability 1/2. */
export function randomFlip(): Augment {
  return (x: tf.Tensor4D, rng: Rng) =>
    tf.tidy(() => {
      const flipped = tf.reverse(x, 2);
      const mask = Array.from({ length: x.shape[0] }, () => (rng.next() < 0.5 ? 1 : 0));
      const m = tf.tensor4d(mask, [x.shape[0], 1, 1, 1]);
      return tf.add(tf.mul(flipped, m), tf.mul(x, tf.sub(1, m)));
    });
}

/** Applies augmentations in order. */
export function composeAugment(...augs: Augment[]): Augment {
  return (x, rng) => {
    let y = x;
    for (const a of augs) {
      const next = a(y, rng);
      if (y !== x) y.dispose();
      y = next;
    }
    return y;
  };
}

/**
 * Reflect padding of the H and W axes of an NHWC tensor with an exact gradient.
 *
 * tfjs-core's MirrorPad gradient only slices the centre out of dy, dropping the contributions of the reflected
 * borders, so it cannot be used for training. On the torch backend this is the addon's reflect padding, a gather pass
 * forward and one backward (TorchReflectPad); elsewhere it is written with slice/reverse/concat, whose gradients tfjs
 * gets right, on every backend that has those basic kernels.
 */
import * as tf from '@tensorflow/tfjs';

export type SpatialPads = [[number, number], [number, number]];

/**
 * Pads [[top, bottom], [left, right]] by reflection (the border row is not repeated: "reflect", not "symmetric").
 * An axis shorter than pad + 1 cannot be reflected and is zero-padded instead.
 */
export function reflectPad(x: tf.Tensor4D, pads: SpatialPads): tf.Tensor4D {
  const reflectable = ([before, after]: [number, number], n: number) => Math.max(before, after) < n;
  if (tf.getBackend() === 'torch' && x.dtype === 'float32' && reflectable(pads[0], x.shape[1]) && reflectable(pads[1], x.shape[2])) {
    return tf.engine().runKernel('TorchReflectPad', { x } as never, { paddings: pads } as never) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    let y = x;
    for (const axis of [1, 2] as const) {
      const [before, after] = pads[axis - 1];
      if (before === 0 && after === 0) continue;
      const n = y.shape[axis];
      if (!reflectable([before, after], n)) {
        const p: [number, number][] = [
          [0, 0],
          [0, 0],
          [0, 0],
          [0, 0],
        ];
        p[axis] = [before, after];
        y = tf.pad(y, p);
        continue;
      }
      const parts: tf.Tensor4D[] = [];
      if (before > 0) parts.push(tf.reverse(sliceAxis(y, axis, 1, before), axis));
      parts.push(y);
      if (after > 0) parts.push(tf.reverse(sliceAxis(y, axis, n - 1 - after, after), axis));
      y = tf.concat(parts, axis);
    }
    return y;
  });
}

function sliceAxis(x: tf.Tensor4D, axis: number, begin: number, size: number): tf.Tensor4D {
  const b = [0, 0, 0, 0];
  const s = [-1, -1, -1, -1];
  b[axis] = begin;
  s[axis] = size;
  return tf.slice(x, b, s);
}

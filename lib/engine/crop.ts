/**
 * tfjs-layers' Cropping2D as one slice on the torch backend.
 *
 * Cropping2D slices the rows, then the columns: two copies forward and, in training, two zero-padded copies backward
 * (Slice's gradient is a pad). One slice over both axes gives the same values with one copy each way: BagNet's
 * residual crops cost 47 of 625 CPU-ms in a BagNet-17 training step (batch 64, one thread) as two slices.
 */
import * as tf from '@tensorflow/tfjs';

/** The fields of a tfjs-layers Cropping2D that the fused paths read (the class's members are not public API). */
export interface CropLayerLike {
  cropping: [[number, number], [number, number]];
  dataFormat: string;
}

let patched = false;

/** Routes channels-last Cropping2D calls through one tf.slice while the torch backend is active (idempotent). */
export function fuseLayersCrop(): void {
  if (patched) return;
  patched = true;
  const proto = Object.getPrototypeOf(tf.layers.cropping2D({ cropping: 1 })) as { call: unknown };
  const original = proto.call as (this: CropLayerLike, inputs: tf.Tensor | tf.Tensor[], kwargs: unknown) => tf.Tensor;
  proto.call = function oneSliceCrop(this: CropLayerLike, inputs: tf.Tensor | tf.Tensor[], kwargs: unknown) {
    const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : null) : inputs;
    if (!x || x.rank !== 4 || this.dataFormat !== 'channelsLast' || tf.getBackend() !== 'torch') return original.call(this, inputs, kwargs);
    const [[top, bottom], [left, right]] = this.cropping;
    const [n, h, w, c] = x.shape as number[];
    return tf.slice(x, [0, top, left, 0], [n, h - top - bottom, w - left - right, c]);
  };
}

import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors';
import type { ClassHeatmaps, Heatmaps } from './heatmaps';

/** What a method needs of the model; `tessera explain` and the scores study skip methods whose needs are not met. */
export interface MethodNeeds {
  /** Differentiable model (every tfjs model is; listed for the user). */
  gradients?: boolean;
  /** A spatial feature map -> global average pooling -> dense logits head (CAM). */
  gapHead?: boolean;
  /** A BagNet (a layer named "patch_logits" whose spatial mean is the logits). */
  bagnet?: boolean;
  /** The BagNet's build config (the per-pixel sweep rebuilds it at another input size). */
  modelConfig?: boolean;
  /** A ProtoPNet (a PrototypeDistances layer; lib/models/prototype.ts). */
  prototypes?: boolean;
}

/** Metadata on a method (Captum-like: one class per method, one verb). */
export interface MethodInfo {
  /** Short id used on the command line and in results, e.g. "integrated-gradients". */
  id: string;
  /** Display label, e.g. "Integrated gradients". */
  label: string;
  /** True when maps carry evidence for (> 0) and against (< 0) the class. */
  signed: boolean;
  needs: MethodNeeds;
  /** One line: what the map is, with the paper. */
  summary: string;
}

/** Options every method takes. */
export interface AttributeOptions {
  /** Images per forward/backward pass (default per method). Never changes a number, only memory and speed. */
  batchSize?: number;
}

/**
 * An explanation method bound to a model. `attribute(x, targets)`: x [N,H,W,C] in [0,1] (the model's input
 * scaling), targets N class indices -> one map per image, for its target. Methods dispose their own tensors:
 * `tf.memory().numTensors` is unchanged after a call.
 */
export interface ExplanationMethod<O extends AttributeOptions = AttributeOptions> {
  readonly info: MethodInfo;
  readonly model: tf.LayersModel;
  attribute(x: tf.Tensor4D, targets: ArrayLike<number>, options?: O): Heatmaps;
  /** Every class's map at once, where the method produces them together: values [n, h, w, K]. */
  allClasses?(x: tf.Tensor4D, options?: O): ClassHeatmaps;
}

/** Number of classes of a logits model. */
export function numClasses(model: tf.LayersModel): number {
  const shape = model.outputs[0].shape;
  return shape[shape.length - 1] as number;
}

/** Checks x and targets against the model; throws a UserError saying what was expected and found. */
export function checkInputs(info: MethodInfo, model: tf.LayersModel, x: tf.Tensor4D, targets: ArrayLike<number>, fixedSize = true): void {
  if (x.rank !== 4) throw new UserError(`${info.id}: expected images [N,H,W,C], found a tensor of shape [${x.shape}]`);
  const want = model.inputs[0].shape;
  if (want[3] != null && want[3] !== x.shape[3]) {
    throw new UserError(`${info.id}: the model takes ${want[3]} channels, the images have ${x.shape[3]}; convert the images first`);
  }
  if (fixedSize && ((want[1] != null && want[1] !== x.shape[1]) || (want[2] != null && want[2] !== x.shape[2]))) {
    throw new UserError(
      `${info.id}: the model takes ${want[1]}x${want[2]} images, found ${x.shape[1]}x${x.shape[2]}; resize the images to the model's input`,
    );
  }
  if (targets.length !== x.shape[0])
    throw new UserError(`${info.id}: ${x.shape[0]} images need ${x.shape[0]} targets, found ${targets.length}`);
  const K = numClasses(model);
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i];
    if (!Number.isInteger(t) || t < 0 || t >= K)
      throw new UserError(`${info.id}: target ${t} of image ${i} is not a class of the model (0..${K - 1})`);
  }
}

import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { UserError } from '../util/errors';
import { BagNetConfig, buildBagNet } from './bagnet';
import { buildGap, buildResNet, buildVgg, GapConfig, ResNetConfig, VggConfig } from './cnn';
import { ModelInput } from './common';

export * from './blurpool';
export * from './common';
export * from './bagnet';
export * from './cnn';
export * from './rf';
export * from './features';
export * from './io';

/** Every model family, as a small JSON-able config (the model cache hashes it). */
export type ModelConfig = BagNetConfig | VggConfig | ResNetConfig | GapConfig;
export type Family = ModelConfig['family'];
export const FAMILIES: readonly Family[] = ['bagnet', 'vgg', 'resnet', 'gap'];

/**
 * Builds a model of any family for images of `input.inputShape` and `input.numClasses` classes. Every weight
 * initialiser draws its seed from `rng` (or `new Rng(seed)`), so the same seed gives the same weights. The output is
 * the class logits (no softmax); layers "features" (last spatial map) and "logits" exist in every family.
 */
export function buildModel(config: ModelConfig, input: ModelInput, rng: Rng | number = 0): tf.LayersModel {
  const r = typeof rng === 'number' ? new Rng(rng) : rng;
  switch (config.family) {
    case 'bagnet':
      return buildBagNet(config, input, r);
    case 'vgg':
      return buildVgg(config, input, r);
    case 'resnet':
      return buildResNet(config, input, r);
    case 'gap':
      return buildGap(config, input, r);
    default:
      throw new UserError(`unknown model family "${(config as { family: string }).family}"; expected one of ${FAMILIES.join(', ')}`);
  }
}

/** A short readable name for a config, e.g. "bagnet-q9", "resnet-small-aa-bin-5". */
export function modelName(config: ModelConfig): string {
  switch (config.family) {
    case 'bagnet':
      return `bagnet-q${config.q}`;
    default: {
      const aa = config.antialias && config.antialias !== 'none' ? `-aa-${config.antialias}` : '';
      const size = config.size ?? (config.widths ? 'custom' : 'small');
      return `${config.family}-${size}${aa}`;
    }
  }
}

/** The same architecture for another input size, with `model`'s weights (e.g. a BagNet applied to one q x q patch). */
export function withInputSize(model: tf.LayersModel, config: ModelConfig, input: ModelInput): tf.LayersModel {
  const copy = buildModel(config, input, 0);
  copy.setWeights(model.getWeights());
  return copy;
}

/** Number of trainable parameters. */
export function countParams(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((a, w) => a + w.shape.reduce((x, y) => (x as number) * (y as number), 1)!, 0);
}

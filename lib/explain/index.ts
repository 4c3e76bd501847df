import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../models/index';
import { UserError } from '../util/errors';
import { CAM, CAM_INFO, GradCAM, GRAD_CAM_INFO, gapHead, geometryProblem } from './cam';
import { CRISP_MASK_INFO, CrispMask } from './crisp-mask';
import { GRADIENT_X_INPUT_INFO, GradientXInput, INTEGRATED_GRADIENTS_INFO, IntegratedGradients, Saliency, SALIENCY_INFO } from './gradient';
import type { ExplanationMethod, MethodInfo } from './method';
import { BAGNET_PATCHES_INFO, BAGNET_SWEEP_INFO, BagNetPatchLogits, BagNetSweep, bagnetProblem } from './patches';
import { Occlusion, OCCLUSION_INFO, SLIDING_WINDOW_INFO, SlidingWindow } from './window';
import { PrototypeActivations, PROTOTYPE_INFO, prototypeProblem } from './prototype';

export * from './heatmaps';
export * from './method';
export { CAM, GradCAM, gapHead, geometryProblem, splitAt, camLiteral } from './cam';
export { CrispMask, CRISP_MASK_DEFAULTS, maskLoss, maskStats } from './crisp-mask';
export type { CrispMaskOptions, MaskResult, MaskStage, MaskStats } from './crisp-mask';
export { Saliency, GradientXInput, IntegratedGradients, integratedGradientsLiteral, inputGradients, baselineOf } from './gradient';
export type { Baseline, GradientOptions } from './gradient';
export { BagNetPatchLogits, BagNetSweep } from './patches';
export { Occlusion, SlidingWindow, occlusionLiteral, windowStarts } from './window';
export type { OcclusionOptions, SlidingWindowOptions, WindowOptions } from './window';
export { PrototypeActivations, maxSimilarities } from './prototype';
export type { PrototypeOptions, SimilarityMaps } from './prototype';

/** What a method may need besides the model: its build config (saved by `tessera train --save` in model.json). */
export interface ModelContext {
  config?: ModelConfig;
}

/** A registered method: its metadata, why it cannot explain a model (null when it can), and its constructor. */
export interface MethodEntry {
  info: MethodInfo;
  problem(model: tf.LayersModel, context: ModelContext): string | null;
  create(model: tf.LayersModel, context: ModelContext): ExplanationMethod;
}

const none = () => null;
const gap = (model: tf.LayersModel) => {
  const head = gapHead(model);
  return typeof head === 'string' ? head : geometryProblem(model);
};

/** Every explanation method of the suite, by id, in display order. */
export const METHODS: MethodEntry[] = [
  { info: SALIENCY_INFO, problem: none, create: (m) => new Saliency(m) },
  { info: GRADIENT_X_INPUT_INFO, problem: none, create: (m) => new GradientXInput(m) },
  { info: INTEGRATED_GRADIENTS_INFO, problem: none, create: (m) => new IntegratedGradients(m) },
  { info: OCCLUSION_INFO, problem: none, create: (m) => new Occlusion(m) },
  {
    info: SLIDING_WINDOW_INFO,
    problem: (m) => {
      const s = m.inputs[0].shape;
      return s[1] == null || s[2] == null ? 'needs a model with a fixed input size (the window side)' : null;
    },
    create: (m) => new SlidingWindow(m),
  },
  { info: CAM_INFO, problem: gap, create: (m) => new CAM(m) },
  { info: GRAD_CAM_INFO, problem: geometryProblem, create: (m) => new GradCAM(m) },
  { info: BAGNET_PATCHES_INFO, problem: bagnetProblem, create: (m) => new BagNetPatchLogits(m) },
  {
    info: BAGNET_SWEEP_INFO,
    problem: (m, ctx) =>
      bagnetProblem(m) ??
      (ctx.config?.family === 'bagnet' ? null : "needs the BagNet's build config (model.json from `tessera train --save`)"),
    create: (m, ctx) => new BagNetSweep(m, ctx.config as Extract<ModelConfig, { family: 'bagnet' }>),
  },
  { info: PROTOTYPE_INFO, problem: prototypeProblem, create: (m) => new PrototypeActivations(m) },
  { info: CRISP_MASK_INFO, problem: none, create: (m) => new CrispMask(m) },
];

/** The method entry of `id`; a UserError listing the known ids otherwise. */
export function methodEntry(id: string): MethodEntry {
  const entry = METHODS.find((m) => m.info.id === id);
  if (!entry) throw new UserError(`unknown method "${id}"; known methods: ${METHODS.map((m) => m.info.id).join(', ')}`);
  return entry;
}

/** Builds method `id` for a model, or throws a UserError saying why the model cannot support it. */
export function createMethod(id: string, model: tf.LayersModel, context: ModelContext = {}): ExplanationMethod {
  const entry = methodEntry(id);
  const problem = entry.problem(model, context);
  if (problem) throw new UserError(`method "${id}" cannot explain this model: it ${problem}`);
  return entry.create(model, context);
}

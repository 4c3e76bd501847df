import * as tf from '@tensorflow/tfjs';
import {
  AttributeOptions,
  createMethod,
  CrispMask,
  ExplanationMethod,
  heatmapProblems,
  METHODS,
  ModelContext,
} from '../../lib/explain/index';
import { buildModel, ModelConfig } from '../../lib/models/index';
import { Rng } from '../../lib/util/rng';
import { randomizeWeights, randomTensor } from '../models/helpers';
import { tinyProtoPNet } from '../models/protopnet-fixture';

/**
 * The contract every explanation method keeps, on a small model it applies to: a batch of 3 gives the maps of three
 * batches of 1; the same call twice gives the same numbers; no tensor is leaked; the geometry puts every map cell on
 * the image; targets are honoured (maps of different targets differ).
 */

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const C = 2;
const K = 3;
/** A model each method applies to, with its context. */
function modelFor(id: string): { model: tf.LayersModel; context: ModelContext; size: number } {
  if (id === 'prototype') return tinyProtoPNet();
  const config: ModelConfig = id.startsWith('bagnet')
    ? { family: 'bagnet', q: 5, widths: [4, 4, 4], expansion: 2 }
    : id === 'sliding-window'
      ? { family: 'gap', widths: [4, 6] }
      : { family: 'resnet', widths: [4, 6], blocks: 1 };
  const size = 8;
  const model = buildModel(config, { inputShape: [size, size, C], numClasses: K }, new Rng(3));
  randomizeWeights(model, 4);
  return { model, context: { config }, size };
}

/** Options that keep the slow methods quick here (fewer steps and windows; the contract does not depend on them). */
const FAST: Record<string, AttributeOptions & Record<string, unknown>> = {
  'integrated-gradients': { steps: 3 },
  occlusion: { window: 4, stride: 2 },
  'sliding-window': { stride: 4 },
};

describe.each(METHODS.map((m) => m.info.id))('%s keeps the method contract', (id) => {
  const { model, context, size } = modelFor(id);
  const image = id === 'sliding-window' ? 16 : size;
  // The crisp mask runs 450 Adam steps by default; a few keep the contract test fast (the contract is the same).
  const method: ExplanationMethod =
    id === 'crisp-mask'
      ? new CrispMask(model, { stage1: { iterations: 4 }, stage2: { iterations: 3 }, progress: false })
      : createMethod(id, model, context);
  const fast = FAST[id] ?? {};
  const x = randomTensor([3, image, image, C], 11) as tf.Tensor4D;
  const targets = [0, 2, 1];

  afterAll(() => {
    x.dispose();
    model.dispose();
  });

  it('a batch of 3 equals three batches of 1, and a second call gives the same numbers', () => {
    const all = method.attribute(x, targets, fast);
    const again = method.attribute(x, targets, fast);
    expect(Array.from(again.values)).toEqual(Array.from(all.values));
    const hw = all.height * all.width;
    for (let i = 0; i < 3; i++) {
      const xi = x.slice(i, 1);
      const one = method.attribute(xi, [targets[i]], fast);
      xi.dispose();
      const expected = Array.from(all.values.subarray(i * hw, (i + 1) * hw));
      Array.from(one.values).forEach((v, p) => expect(v).toBeCloseTo(expected[p], 5));
    }
  });

  it('leaks no tensor', () => {
    method.attribute(x, targets, fast); // warm-up (lazy weights, sub-models)
    const before = tf.memory().numTensors;
    method.attribute(x, targets, { ...fast, batchSize: 2 });
    method.allClasses?.(x);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('returns valid heatmaps whose cells lie on the image, for the given targets', () => {
    const h = method.attribute(x, targets, fast);
    expect(heatmapProblems(h)).toEqual([]);
    expect(h.method).toBe(id);
    expect(h.targets).toEqual(targets);
    expect([h.imageHeight, h.imageWidth]).toEqual([image, image]);
    expect(h.signed).toBe(method.info.signed);
    const other = method.attribute(x, [1, 0, 2], fast);
    expect(Array.from(other.values)).not.toEqual(Array.from(h.values));
  });

  it('allClasses, where present, holds attribute() for every class', () => {
    if (!method.allClasses) return;
    const all = method.allClasses(x);
    const h = method.attribute(x, targets, fast);
    const hw = h.height * h.width;
    for (let i = 0; i < 3; i++)
      for (let p = 0; p < hw; p++) expect(all.values[(i * hw + p) * all.classes + targets[i]]).toBeCloseTo(h.values[i * hw + p], 6);
  });

  it('rejects a target outside the classes and a wrong image size with a clear error', () => {
    expect(() => method.attribute(x, [0, 1, K])).toThrow(/target 3 of image 2 is not a class of the model \(0\.\.2\)/);
    expect(() => method.attribute(x, [0, 1])).toThrow(/3 images need 3 targets/);
  });
});

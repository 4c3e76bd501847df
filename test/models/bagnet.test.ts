import * as tf from '@tensorflow/tfjs';
import { bagnetKernelFlags, buildModel, patchLogitModel, receptiveField, withInputSize, BagNetConfig } from '../../lib/models';
import { randomizeWeights, randomTensor } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('BagNet', () => {
  test('kernel flags reach q (prefix of stages when possible)', () => {
    expect(bagnetKernelFlags(3, [2, 2, 1])).toEqual([false, false, false]);
    expect(bagnetKernelFlags(5, [2, 2, 1])).toEqual([true, false, false]);
    expect(bagnetKernelFlags(9, [2, 2, 1])).toEqual([true, true, false]);
    expect(bagnetKernelFlags(13, [2, 2, 1])).toEqual([true, false, true]);
    expect(bagnetKernelFlags(17, [2, 2, 1])).toEqual([true, true, true]);
    // The paper's ImageNet layout: stem 3, strides [2,2,2,1] -> 9, 17, 33.
    expect(bagnetKernelFlags(33, [2, 2, 2, 1])).toEqual([true, true, true, true]);
    expect(() => bagnetKernelFlags(4, [2, 2, 1])).toThrow(/possible q: 3, 5, 7/);
  });

  for (const q of [5, 9, 13]) {
    test(`BagNet-${q}: RF arithmetic gives q, and image logits equal the mean of logits of patches run alone`, () => {
      const config: BagNetConfig = { family: 'bagnet', q, widths: [3, 4, 4], blocks: [1, 2, 1], expansion: 2 };
      const input = { inputShape: [20, 20, 2] as [number, number, number], numClasses: 3 };
      const model = buildModel(config, input, 7);
      randomizeWeights(model, q);
      const rf = receptiveField(model, 'patch_logits');
      expect(rf.y.size).toBe(q);
      expect(rf.x.size).toBe(q);
      expect(rf.y.jump).toBe(4);
      expect(rf.y.start).toBe(0);
      const x = randomTensor([2, 20, 20, 2], 11) as tf.Tensor4D;
      const logits = (model.predict(x) as tf.Tensor).arraySync() as number[][];
      const map = patchLogitModel(model).predict(x) as tf.Tensor4D;
      const [, gh, gw] = map.shape;
      // The same network applied to a single q x q patch (1 x 1 output).
      const patchNet = withInputSize(model, config, { ...input, inputShape: [q, q, 2] });
      const patches: tf.Tensor4D[] = [];
      for (let i = 0; i < gh; i++) for (let j = 0; j < gw; j++) patches.push(x.slice([0, i * 4, j * 4, 0], [2, q, q, 2]));
      const patchLogits = (patchNet.predict(tf.concat(patches, 0)) as tf.Tensor).arraySync() as number[][];
      const mapData = map.arraySync();
      for (let n = 0; n < 2; n++) {
        for (let c = 0; c < 3; c++) {
          let mean = 0;
          for (let p = 0; p < gh * gw; p++) {
            const alone = patchLogits[p * 2 + n][c];
            expect(Math.abs(alone - mapData[n][Math.floor(p / gw)][p % gw][c])).toBeLessThan(1e-4);
            mean += alone / (gh * gw);
          }
          expect(Math.abs(logits[n][c] - mean)).toBeLessThan(1e-5 * Math.max(1, Math.abs(mean)));
        }
      }
    });
  }
});

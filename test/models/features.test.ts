import * as tf from '@tensorflow/tfjs';
import { buildModel, extractFeatures, featureModel, layerNames, modelName, countParams } from '../../lib/models';
import { randomizeWeights, randomTensor } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('feature extraction and the GAP head', () => {
  test('named layers come out in batches; GAP classifier logits are the spatial mean of the exact CAM', () => {
    const model = buildModel(
      { family: 'gap', widths: [3, 4], convs: 1, antialias: 'tri-3' },
      { inputShape: [10, 10, 2], numClasses: 3 },
      4,
    );
    randomizeWeights(model, 8);
    expect(layerNames(model)).toEqual(expect.arrayContaining(['features', 'gap', 'logits', 'stage1_pool']));
    const x = randomTensor([5, 10, 10, 2], 1) as tf.Tensor4D;
    const out = extractFeatures(model, ['features', 'logits'], x, 2);
    expect(out.features.shape).toEqual([5, 5, 5, 4]);
    const logits = (model.predict(x) as tf.Tensor).arraySync() as number[][];
    expect(out.logits.arraySync()).toEqual(logits);
    // CAM_c(y, x) = sum_k w_kc f_k(y, x); mean over (y, x) + b_c = logit_c.
    const [w, b] = model.getLayer('logits').getWeights();
    const cam = tf.einsum('nhwk,kc->nhwc', out.features, w);
    const fromCam = tf.add(tf.mean(cam, [1, 2]), b).arraySync() as number[][];
    for (let n = 0; n < 5; n++) for (let c = 0; c < 3; c++) expect(fromCam[n][c]).toBeCloseTo(logits[n][c], 5);
    expect(() => featureModel(model, ['nope'])).toThrow(/no layer "nope"/);
  });

  test('names and parameter counts', () => {
    expect(modelName({ family: 'bagnet', q: 9 })).toBe('bagnet-q9');
    expect(modelName({ family: 'resnet', size: 'medium', antialias: 'bin-5' })).toBe('resnet-medium-aa-bin-5');
    const m = buildModel({ family: 'vgg', widths: [2], convs: 1, hidden: 3 }, { inputShape: [4, 4, 1], numClasses: 2 }, 0);
    // conv 3*3*1*2+2, fc (2*2*2)*3+3, logits 3*2+2
    expect(countParams(m)).toBe(20 + 27 + 8);
  });
});

// Loss hooks and training stages (lib/train/trainer.ts): hooks that restate the default loss change nothing, stages
// touch only their weights, and a staged run killed anywhere resumes bit for bit.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../lib/models';
import { crossEntropyLoss, latestCheckpoint, LossFn, runKey, train, TrainOptions, TrainStage } from '../../lib/train';
import { Rng } from '../../lib/util/rng';
import { toyBars } from './toy';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-stages-'));
const data = { train: toyBars(16, 3), val: toyBars(8, 4) };
const strip = (h: { seconds: number; imagesPerSecond: number }[]) => h.map(({ seconds, imagesPerSecond, ...rest }) => rest);
const weightsOf = (m: tf.LayersModel) => Object.fromEntries(m.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
const base: TrainOptions = { epochs: 2, batchSize: 8, seed: 7, progress: false, runKey: 'stages' };

/** input [8,8,1] -> flatten -> 'hidden' dense 4 relu -> 'logits' dense 2; seeded, no BatchNorm. */
function tiny(seed: number): tf.LayersModel {
  const inp = tf.input({ shape: [8, 8, 1] });
  const f = tf.layers.flatten().apply(inp) as tf.SymbolicTensor;
  const kernelInitializer = tf.initializers.glorotUniform({ seed });
  const h = tf.layers.dense({ name: 'hidden', units: 4, activation: 'relu', kernelInitializer, biasInitializer: 'ones' });
  const out = tf.layers.dense({ name: 'logits', units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) });
  return tf.model({ inputs: inp, outputs: out.apply(h.apply(f)) as tf.SymbolicTensor });
}

/** Cross-entropy + lambda * L1 norm of the last layer's kernel. */
const withL1 =
  (lambda: number): LossFn =>
  (ctx) =>
    tf.add(crossEntropyLoss(ctx) as tf.Scalar, tf.mul(lambda, tf.sum(tf.abs(ctx.weight('logits/kernel'))))) as tf.Scalar;

/** Softmax rows of z [n,C] minus one-hot labels, in float64. */
function softmaxMinusOneHot(z: number[][], labels: ArrayLike<number>): number[][] {
  return z.map((row, i) => {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v, c) => v / s - (c === labels[i] ? 1 : 0));
  });
}

describe('loss hook', () => {
  test('a hook restating cross-entropy (from ctx.logits or its own forward pass) gives the same numbers as no hook', async () => {
    // BatchNorm model: a hook's own forward pass must stand in for the trainer's, so statistics update once per batch.
    const config = { family: 'gap' as const, widths: [2, 3], convs: 1 };
    const input = { inputShape: [8, 8, 1] as [number, number, number], numClasses: 2 };
    const opts: TrainOptions = { ...base, optimizer: { type: 'adam', lr: 0.01, weightDecay: 1e-3 } };
    opts.schedule = { type: 'step', stepEpochs: 1 };
    const plain = buildModel(config, input, new Rng(5));
    const r0 = await train(plain, data, opts);
    const restated: LossFn = (ctx) => tf.losses.softmaxCrossEntropy(tf.oneHot(ctx.y, ctx.numClasses), ctx.logits) as tf.Scalar;
    const ownPass: LossFn = (ctx) => {
      const logits = ctx.model.apply(ctx.x, { training: true }) as tf.Tensor2D;
      return { loss: tf.losses.softmaxCrossEntropy(tf.oneHot(ctx.y, ctx.numClasses), logits) as tf.Scalar, logits };
    };
    for (const loss of [restated, ownPass, crossEntropyLoss]) {
      const m = buildModel(config, input, new Rng(5));
      const r = await train(m, data, { ...opts, loss });
      expect(strip(r.history)).toEqual(strip(r0.history));
      expect(weightsOf(m)).toEqual(weightsOf(plain));
    }
    expect(r0.history.map((h) => [h.stage, h.stageEpoch])).toEqual([
      ['train', 1],
      ['train', 2],
    ]);
  });

  test('CE + L1 on the last kernel: one SGD step moves each kernel entry by -lr*lambda*sign(w); the kernel shrinks', async () => {
    const lr = 0.1;
    const lambda = 0.05;
    const opts: TrainOptions = { ...base, epochs: 1, batchSize: 16, optimizer: { type: 'sgd', lr, momentum: 0, weightDecay: 0 } };
    const a = tiny(11);
    const w0 = weightsOf(a)['logits/kernel'];
    await train(a, data, opts);
    const b = tiny(11);
    await train(b, data, { ...opts, loss: withL1(lambda) });
    const wa = weightsOf(a)['logits/kernel'];
    const wb = weightsOf(b)['logits/kernel'];
    wb.forEach((v, i) => expect(v - wa[i]).toBeCloseTo(-lr * lambda * Math.sign(w0[i]), 6));
    // Over several epochs (Adam) the L1 run ends with a smaller kernel.
    const norm = (w: number[]) => w.reduce((s, v) => s + Math.abs(v), 0);
    const several: TrainOptions = { ...base, epochs: 4, optimizer: { type: 'adam', lr: 0.02 } };
    const c = tiny(11);
    await train(c, data, several);
    const d = tiny(11);
    await train(d, data, { ...several, loss: withL1(0.5) });
    expect(norm(weightsOf(d)['logits/kernel'])).toBeLessThan(0.8 * norm(weightsOf(c)['logits/kernel']));
  });

  test('a non-scalar loss or an unknown weight name is refused with a clear message', async () => {
    const perImage: LossFn = (ctx) =>
      tf.losses.softmaxCrossEntropy(tf.oneHot(ctx.y, 2), ctx.logits, undefined, undefined, tf.Reduction.NONE) as tf.Scalar;
    await expect(train(tiny(1), data, { ...base, loss: perImage })).rejects.toThrow(/must return a scalar/);
    const typo: LossFn = (ctx) => tf.sum(ctx.weight('last/kernel')) as tf.Scalar;
    await expect(train(tiny(1), data, { ...base, loss: typo })).rejects.toThrow(/no weight "last\/kernel".*logits\/kernel/);
  });
});

describe('stages', () => {
  test('a last-layer stage leaves every other weight bit-unchanged and makes the textbook SGD step', async () => {
    const lr = 0.5;
    const m = tiny(3);
    const before = weightsOf(m);
    const x = data.train.batch(Array.from({ length: 16 }, (_, i) => i)).x;
    const features = tf.model({ inputs: m.inputs, outputs: m.getLayer('hidden').output as tf.SymbolicTensor });
    const h = (features.predict(x) as tf.Tensor2D).arraySync();
    x.dispose();
    const sgd = { type: 'sgd' as const, lr, momentum: 0, weightDecay: 0 };
    const stages: TrainStage[] = [{ name: 'last', epochs: 1, trainable: ['logits/'], optimizer: sgd }];
    const r = await train(m, data, { ...base, epochs: 1, batchSize: 16, stages });
    const after = weightsOf(m);
    expect(after['hidden/kernel']).toEqual(before['hidden/kernel']);
    expect(after['hidden/bias']).toEqual(before['hidden/bias']);
    // One batch of all 16 images: W -= lr H^T (softmax(HW + b) - Y) / n, b -= lr mean(softmax - Y), in float64.
    const W = before['logits/kernel'];
    const bias = before['logits/bias'];
    const z = h.map((row) => [0, 1].map((c) => row.reduce((s, v, j) => s + v * W[j * 2 + c], bias[c])));
    const d = softmaxMinusOneHot(z, data.train.labels);
    const n = h.length;
    W.forEach((w, k) => {
      const [j, c] = [Math.floor(k / 2), k % 2];
      expect(after['logits/kernel'][k]).toBeCloseTo(w - (lr * h.reduce((s, row, i) => s + row[j] * d[i][c], 0)) / n, 6);
    });
    bias.forEach((b, c) => expect(after['logits/bias'][c]).toBeCloseTo(b - (lr * d.reduce((s, row) => s + row[c], 0)) / n, 6));
    expect(r.history[0]).toMatchObject({ stage: 'last', stageEpoch: 1, epoch: 1, lr });
  });

  test('two stages with their own lrs train their own weights; a group at lr 0 equals leaving its weights out', async () => {
    const snapshots: Record<string, number[]>[] = [];
    const m = tiny(4);
    const stages: TrainStage[] = [
      { name: 'features', epochs: 1, trainable: ['hidden/'], optimizer: { type: 'adam', lr: 0.03 } },
      {
        name: 'last',
        epochs: 2,
        trainable: (w) => w.originalName.startsWith('logits/'),
        optimizer: { type: 'sgd', lr: 0.2 },
        schedule: { type: 'step', stepEpochs: 1, gamma: 0.5 },
      },
    ];
    const start = weightsOf(m);
    const r = await train(m, data, { ...base, epochs: 3, stages, onEpoch: () => snapshots.push(weightsOf(m)) });
    // The step schedule counts the stage's own epochs: 0.2 then 0.1.
    expect(r.history.map((h) => [h.stage, h.stageEpoch, h.epoch, h.lr])).toEqual([
      ['features', 1, 1, 0.03],
      ['last', 1, 2, 0.2],
      ['last', 2, 3, 0.1],
    ]);
    expect(snapshots[0]['logits/kernel']).toEqual(start['logits/kernel']);
    expect(snapshots[0]['hidden/kernel']).not.toEqual(start['hidden/kernel']);
    expect(snapshots[2]['hidden/kernel']).toEqual(snapshots[0]['hidden/kernel']);
    expect(snapshots[2]['logits/kernel']).not.toEqual(snapshots[0]['logits/kernel']);

    // Param groups: hidden at lr 0 (plain SGD) must give exactly the weights of a stage over the logits alone.
    const sgd = { type: 'sgd' as const, lr: 0.2, momentum: 0.9, weightDecay: 0 };
    const a = tiny(6);
    await train(a, data, { ...base, stages: [{ name: 'last', epochs: 2, trainable: ['logits/'], optimizer: sgd }] });
    const b = tiny(6);
    const groups = [{ trainable: ['hidden/'], optimizer: { ...sgd, lr: 0 } }, { trainable: ['logits/'] }];
    await train(b, data, { ...base, stages: [{ name: 'both', epochs: 2, groups, optimizer: sgd }] });
    expect(weightsOf(b)).toEqual(weightsOf(a));
  });

  test('stages of one name share an optimiser and one schedule timeline', async () => {
    const step = { type: 'step' as const, stepEpochs: 1, gamma: 0.1 };
    const stages: TrainStage[] = [
      { name: 'joint', epochs: 1, optimizer: { type: 'adam', lr: 0.01 }, schedule: step },
      { name: 'last', epochs: 1, trainable: ['logits/'], optimizer: { type: 'sgd', lr: 0.3 } },
      { name: 'joint', epochs: 1, optimizer: { type: 'adam', lr: 0.01 }, schedule: step },
    ];
    const r = await train(tiny(2), data, { ...base, epochs: 3, stages });
    expect(r.history.map((h) => [h.stage, h.stageEpoch, h.lr])).toEqual([
      ['joint', 1, 0.01],
      ['last', 1, 0.3],
      ['joint', 1, 0.01 * 0.1],
    ]);
    // Splitting a stage in two under one name changes nothing: the second part continues the first's Adam moments,
    // step count and schedule.
    const whole = tiny(2);
    await train(whole, data, { ...base, epochs: 2, stages: [{ ...stages[0], epochs: 2 }] });
    const split = tiny(2);
    await train(split, data, { ...base, epochs: 2, stages: [stages[0], stages[2]] });
    expect(weightsOf(split)).toEqual(weightsOf(whole));
    const clash = [stages[0], { ...stages[2], trainable: ['hidden/'] }];
    await expect(train(tiny(2), data, { ...base, epochs: 2, stages: clash })).rejects.toThrow(/earlier stage of this name/);
  });

  test('a staged run killed anywhere (mid-stage, or at a stage start after its onStart) resumes bit for bit', async () => {
    let starts = 0;
    // A push-like start hook: halves the last layer's kernel.
    const halve = ({ model }: { model: tf.LayersModel }) => {
      starts++;
      const layer = model.getLayer('logits');
      const [k, b] = layer.getWeights();
      const half = tf.mul(k, 0.5);
      layer.setWeights([half, b]);
      half.dispose();
    };
    const l1 = withL1(1e-3);
    const stages: TrainStage[] = [
      { name: 'warm', epochs: 1, trainable: ['hidden/'], optimizer: { type: 'adam', lr: 0.02, weightDecay: 1e-3 } },
      {
        name: 'joint',
        epochs: 2,
        groups: [
          { trainable: ['hidden/'], optimizer: { type: 'sgd', lr: 0.01, momentum: 0.9 } },
          { trainable: ['logits/'], optimizer: { type: 'adam', lr: 0.02 } },
        ],
        schedule: { type: 'step', stepEpochs: 1, gamma: 0.5 },
        loss: l1,
      },
      { name: 'last', epochs: 2, trainable: ['logits/'], optimizer: { type: 'adam', lr: 0.01 }, onStart: halve, loss: l1 },
    ];
    const opts: TrainOptions = { ...base, epochs: 5, stages };
    const full = tiny(8);
    const uninterrupted = await train(full, data, opts);
    expect(starts).toBe(1);
    // [epoch, batch] (0-based) of the crash: inside the joint stage's second epoch; first batch of 'last'.
    for (const [killEpoch, killBatch, checkpoint, startsAfter] of [
      [2, 1, 'epoch-0002', 1],
      [3, 0, 'epoch-0003', 2],
    ] as const) {
      starts = 0;
      const dir = tmp();
      const crash = (e: number, k: number) => {
        if (e === killEpoch && k === killBatch) throw new Error('simulated crash');
      };
      await expect(train(tiny(8), data, { ...opts, checkpointDir: dir, onBatch: crash })).rejects.toThrow('simulated crash');
      expect(path.basename(latestCheckpoint(dir)!)).toBe(checkpoint);
      const resumedModel = tiny(99); // other initial weights: everything must come from the checkpoint
      const resumed = await train(resumedModel, data, { ...opts, checkpointDir: dir, resume: true });
      expect(resumed.resumedFrom).toBe(killEpoch);
      expect(starts).toBe(startsAfter); // the crashed run's onStart (if any) plus the resumed run's
      expect(strip(resumed.history)).toEqual(strip(uninterrupted.history));
      expect(weightsOf(resumedModel)).toEqual(weightsOf(full));
      await expect(train(tiny(8), data, { ...opts, checkpointDir: dir, resume: true, runKey: 'other' })).rejects.toThrow(/another run/);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('mistakes in the stage list are refused before training', async () => {
    const one = (st: Partial<TrainStage>, epochs = 1) =>
      train(tiny(1), data, { ...base, epochs, stages: [{ name: 's', epochs: 1, ...st }] });
    await expect(one({}, 2)).rejects.toThrow(/add up to 1 epochs, opts.epochs is 2/);
    await expect(one({ trainable: ['logit/'] })).rejects.toThrow(/no trainable weight's name starts with "logit\/"/);
    await expect(one({ trainable: () => false })).rejects.toThrow(/selects no weight/);
    await expect(one({ trainable: [] })).rejects.toThrow(/selects no weight/);
    const overlap = [{ trainable: ['logits/'] }, { trainable: ['logits/kernel'] }];
    await expect(one({ groups: overlap })).rejects.toThrow(/logits\/kernel is in more than one group/);
    await expect(one({ trainable: ['hidden/'], groups: overlap })).rejects.toThrow(/either trainable or groups/);
  });

  test('the cache key sees a loss hook by its key and refuses a function-valued stage without one', () => {
    const req = { config: { family: 'gap' as const, widths: [2] }, data, train: { epochs: 1 }, seed: 1 };
    const plain = runKey(req);
    expect(runKey({ ...req, loss: { fn: crossEntropyLoss, key: 'ce' } })).not.toBe(plain);
    const stages: TrainStage[] = [{ name: 'last', epochs: 1, trainable: (w) => w.originalName.startsWith('logits/') }];
    expect(() => runKey({ ...req, train: { epochs: 1, stages } })).toThrow(/stage "last" has a function/);
    const keyed = (key: string) => runKey({ ...req, train: { epochs: 1, stages: [{ ...stages[0], key }] } });
    expect(keyed('logits-only')).not.toBe(keyed('logits-only-v2'));
    expect(runKey({ ...req, train: { epochs: 1, stages: [{ name: 'last', epochs: 1, trainable: ['logits/'] }] } })).not.toBe(plain);
  });
});

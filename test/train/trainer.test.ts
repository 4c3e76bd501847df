import * as child from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { buildModel, ModelConfig } from '../../lib/models';
import { evaluate, latestCheckpoint, train, TrainingDivergedError, trainCached, TrainOptions } from '../../lib/train';
import { Rng } from '../../lib/util/rng';
import { toyBars } from './toy';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-train-'));
const input = { inputShape: [8, 8, 1] as [number, number, number], numClasses: 2 };
const data = { train: toyBars(48, 1), val: toyBars(32, 2) };
const small = { train: toyBars(32, 3), val: toyBars(16, 4) };

describe('every family learns a toy task above chance', () => {
  const families: [string, ModelConfig, { epochs?: number; lr?: number }?][] = [
    // Without BatchNorm: a few dozen steps are too few for BN's moving statistics (used at validation) to settle.
    // BN itself is exercised by the resume tests and the Fashion-MNIST runs.
    ['bagnet q5', { family: 'bagnet', q: 5, widths: [8, 8], strides: [2, 1], expansion: 1, batchNorm: false }, { epochs: 6, lr: 0.01 }],
    ['vgg', { family: 'vgg', widths: [4, 8], convs: 1, hidden: 16 }],
    ['vgg aa tri-3', { family: 'vgg', widths: [4, 8], convs: 1, hidden: 16, antialias: 'tri-3' }],
    ['resnet', { family: 'resnet', widths: [4, 8], blocks: 1, batchNorm: false }],
    ['resnet aa rect-2', { family: 'resnet', widths: [4, 8], blocks: 1, antialias: 'rect-2', batchNorm: false }],
    ['gap', { family: 'gap', widths: [4, 8], convs: 1, batchNorm: false }],
  ];
  for (const [label, config, opts] of families) {
    test(label, async () => {
      const model = buildModel(config, input, new Rng(1));
      const epochs = opts?.epochs ?? 4;
      const result = await train(model, data, {
        epochs,
        batchSize: 12,
        seed: 1,
        optimizer: { type: 'adam', lr: opts?.lr ?? 0.02 },
        progress: false,
      });
      expect(result.history).toHaveLength(epochs);
      expect(result.valAccuracy!).toBeGreaterThanOrEqual(0.75);
      expect(result.valPerClass!).toHaveLength(2);
    });
  }
});

const tinyConfig: ModelConfig = { family: 'gap', widths: [4, 6], convs: 1 };
const tinyOpts: TrainOptions = {
  epochs: 3,
  batchSize: 8,
  seed: 4,
  optimizer: { type: 'adam', lr: 0.01, weightDecay: 1e-3 },
  schedule: { type: 'step', stepEpochs: 2 },
  progress: false,
  runKey: 'k',
};
const strip = (h: { seconds: number; imagesPerSecond: number }[]) => h.map(({ seconds, imagesPerSecond, ...rest }) => rest);

describe('checkpoints and resume', () => {
  test('stopping mid-epoch and resuming gives the same numbers as an uninterrupted run', async () => {
    const a = buildModel(tinyConfig, input, new Rng(2));
    const full = await train(a, small, tinyOpts);
    const dir = tmp();
    const b = buildModel(tinyConfig, input, new Rng(2));
    await expect(
      train(b, small, {
        ...tinyOpts,
        checkpointDir: dir,
        onBatch: (e, k) => {
          if (e === 1 && k === 3) throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    expect(path.basename(latestCheckpoint(dir)!)).toBe('epoch-0001');
    // Resume into a freshly built model with different initial weights: everything must come from the checkpoint.
    const c = buildModel(tinyConfig, input, new Rng(99));
    const resumed = await train(c, small, { ...tinyOpts, checkpointDir: dir, resume: true });
    expect(resumed.resumedFrom).toBe(1);
    expect(strip(resumed.history)).toEqual(strip(full.history));
    const wa = a.getWeights().map((t) => Array.from(t.dataSync()));
    const wc = c.getWeights().map((t) => Array.from(t.dataSync()));
    expect(wc).toEqual(wa);
    expect(fs.readdirSync(dir)).toEqual(['epoch-0003']);
    // A checkpoint of another run is refused.
    await expect(
      train(buildModel(tinyConfig, input, 2), small, { ...tinyOpts, checkpointDir: dir, resume: true, runKey: 'other' }),
    ).rejects.toThrow(/another run/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a child process killed with SIGKILL mid-epoch resumes to the same result', () => {
    const dir = tmp();
    const script = path.join(__dirname, 'fixtures', 'resume-child.ts');
    const run = (args: string[]) =>
      child.spawnSync(process.execPath, ['-r', path.join(__dirname, '..', '..', 'bin', 'register.js'), script, ...args], {
        encoding: 'utf8',
        env: { ...process.env, TESSERA_PROGRESS: '0' },
      });
    const killed = run([dir, '1', '2', 'fresh']);
    expect(killed.signal).toBe('SIGKILL');
    expect(path.basename(latestCheckpoint(dir)!)).toBe('epoch-0001');
    const resumed = run([dir, '-1', '-1', 'resume']);
    expect(resumed.status).toBe(0);
    const uninterrupted = run([path.join(dir, 'other'), '-1', '-1', 'fresh']);
    const r = JSON.parse(resumed.stdout.trim().split('\n').pop()!);
    const u = JSON.parse(uninterrupted.stdout.trim().split('\n').pop()!);
    expect(r.resumedFrom).toBe(1);
    expect(r.history).toEqual(u.history);
    expect(r.weights).toEqual(u.weights);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a non-finite loss stops with a clear error before the update', async () => {
    const model = buildModel(tinyConfig, input, 1);
    const before = model.getWeights().map((t) => Array.from(t.dataSync()));
    let calls = 0;
    const poison = (x: tf.Tensor4D) => (++calls === 2 ? (tf.fill(x.shape, NaN) as tf.Tensor4D) : x.clone());
    await expect(train(model, small, { ...tinyOpts, augment: poison, runKey: undefined })).rejects.toThrow(TrainingDivergedError);
    calls = 0;
    await expect(train(model, small, { ...tinyOpts, augment: poison, runKey: undefined })).rejects.toThrow(
      /loss is NaN at epoch 1, batch 2/,
    );
    expect(model.getWeights().map((t) => Array.from(t.dataSync()))).not.toEqual(before); // batch 1 did update
  });
});

describe('model cache', () => {
  test('reuses a trained model; a changed config trains anew', async () => {
    const cacheDir = tmp();
    const req = { config: tinyConfig, data: small, train: { epochs: 1, batchSize: 32 }, seed: 3, cacheDir, progress: false as const };
    const first = await trainCached(req);
    expect(first.fromCache).toBe(false);
    const second = await trainCached(req);
    expect(second.fromCache).toBe(true);
    expect(second.dir).toBe(first.dir);
    expect(second.result.valAccuracy).toBe(first.result.valAccuracy);
    const e1 = evaluate(first.model, small.val);
    const e2 = evaluate(second.model, small.val);
    expect(e2.loss).toBeCloseTo(e1.loss, 6);
    const third = await trainCached({ ...req, config: { ...tinyConfig, widths: [4, 4] } });
    expect(third.fromCache).toBe(false);
    expect(third.dir).not.toBe(first.dir);
    expect(fs.readdirSync(cacheDir).sort()).toEqual([path.basename(first.dir), path.basename(third.dir)].sort());
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });
});

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Dataset } from '../../lib/data/dataset';
import { buildModel } from '../../lib/models/index';
import { buildProtoPNet, lossModel, PAPER_COEFFICIENTS, prototypeCostsLiteral, prototypesPerClass } from '../../lib/models/prototype';
import { validateClaims } from '../../lib/report/claims';
import type { ClaimInputs } from '../../lib/studies/protopnet/claims';
import { protoPNetClaims } from '../../lib/studies/protopnet/claims';
import { CLAIM_RULES, DatasetPlan, PROTOPNET_CONFIGS } from '../../lib/studies/protopnet/config';
import { loadRun, protoPNetRunKey } from '../../lib/studies/protopnet/run-cache';
import { baselineEpochs, disposeDataset, ProtoPNetData } from '../../lib/studies/protopnet/session';
import { disposeRun, protoPNetLoss, protoPNetStages, ProtoPNetRun, pruneStage, trainProtoPNet } from '../../lib/studies/protopnet/train';
import { buildFor } from '../../lib/train/cache';
import { getStudy } from '../../lib/studies/index';
import { train } from '../../lib/train/trainer';
import { Interval, SCALES } from '../../lib/studies/types';
import { Rng } from '../../lib/util/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
  process.env.TESSERA_PROGRESS = '0';
});

const iv = (low: number, high: number): Interval => ({ low, high, level: 0.95, over: 'test' });

/** Hand-made inputs under which every claim holds; tests then break one thing at a time. */
function good(): ClaimInputs {
  const row = (model: string, accuracy: number, diff: [number, number, number] | null) => ({
    model,
    accuracy,
    interval: iv(accuracy - 0.02, accuracy + 0.02),
    vsBaseline: diff ? { difference: diff[0], interval: iv(diff[1], diff[2]) } : null,
  });
  return {
    dataset: 'toy',
    accuracy: {
      testImages: 1000,
      rows: [
        row('baseline CNN', 0.85, null),
        row('ProtoPNet before push', 0.84, [-0.01, -0.02, 0]),
        row('ProtoPNet after push', 0.7, [-0.15, -0.17, -0.13]),
        row('ProtoPNet after last layer', 0.84, [-0.01, -0.025, 0.005]),
        row('ProtoPNet after pruning', 0.84, [-0.01, -0.025, 0.005]),
      ],
      recovery: { difference: 0, interval: iv(-0.01, 0.01) },
    },
    pushCheck: { maxDistance: 0, offPatch: 0, wrongClass: 0, prototypes: 50 },
    purity: {
      perPrototype: [],
      mean: 0.8,
      interval: iv(0.7, 0.9),
      k: 6,
      nearestPrototypeHits: 80,
      nearestPrototypeInterval: iv(0.7, 0.9),
      testImages: 100,
    },
    duplicates: { duplicates: 0, groups: [], prototypes: 50, interval: iv(0, 0.07) },
    parts: {
      activationShare: [],
      rfShare: [],
      imageShare: [],
      activationLift: { mean: 0.2, interval: iv(0.1, 0.3) },
      rfLift: { mean: 0.1, interval: iv(0.05, 0.2) },
    },
    critique: {
      activationMisses: 10,
      rfMisses: 2,
      activationMissInterval: iv(0.25, 0.55),
      rfMissInterval: iv(0.01, 0.2),
      images: Array.from({ length: 24 }, (_, i) => i),
    },
  };
}

const verdicts = (inputs: ClaimInputs) => Object.fromEntries(protoPNetClaims([inputs]).map((c) => [c.id.replace(/-toy$/, ''), c.verdict]));

describe('claims', () => {
  test('every claim holds on good inputs, carries kind, verdict and (for comparisons) an interval, and validates', () => {
    const claims = protoPNetClaims([good()]);
    expect(claims.map((c) => c.verdict)).toEqual(claims.map(() => 'holds'));
    expect(claims.every((c) => c.pass && c.kind && c.details.length > 20)).toBe(true);
    expect(claims.filter((c) => !c.interval).map((c) => c.id)).toEqual(['push-exact-toy']);
    expect(() => validateClaims(claims, 'test')).not.toThrow();
  });

  test('each rule reads its interval against its threshold: fails beyond it, inconclusive when straddling', () => {
    const g = good();
    const last = g.accuracy.rows[3];
    last.vsBaseline = { difference: -0.1, interval: iv(-0.13, -0.07) };
    expect(verdicts(g)['accuracy-near-baseline']).toBe('fails');
    last.vsBaseline = { difference: -0.03, interval: iv(-0.05, -0.01) };
    expect(verdicts(g)['accuracy-near-baseline']).toBe('inconclusive');
    g.accuracy.recovery = { difference: -0.05, interval: iv(-0.08, -0.03) };
    expect(verdicts(g)['push-drop-recovered']).toBe('fails');
    g.purity.interval = iv(0.45, 0.6);
    expect(verdicts(g)['nearest-patch-purity']).toBe('inconclusive');
    g.duplicates.interval = iv(0.3, 0.5);
    expect(verdicts(g)['few-duplicates']).toBe('fails');
    g.parts!.activationLift = { mean: -0.01, interval: iv(-0.05, 0.03) };
    expect(verdicts(g)['boxes-on-discriminative-parts']).toBe('inconclusive');
    g.critique.activationMissInterval = iv(0.01, 0.08);
    expect(verdicts(g)['upsampled-maps-unfaithful']).toBe('fails');
    g.pushCheck.offPatch = 1;
    expect(verdicts(g)['push-exact']).toBe('fails');
  });

  test('no parts claim without ground-truth parts', () => {
    expect(Object.keys(verdicts({ ...good(), parts: null }))).not.toContain('boxes-on-discriminative-parts');
  });
});

describe('config and schedule', () => {
  test("every scale has a plan per dataset, the paper's pruning rule and costs, and rules fixed in CLAIM_RULES", () => {
    for (const scale of SCALES) {
      for (const plan of PROTOPNET_CONFIGS[scale].datasets) {
        expect(plan.prune).toMatchObject({ k: 6, tau: 3 });
        expect(plan.coefficients).toEqual(PAPER_COEFFICIENTS);
        expect(baselineEpochs(plan)).toBe(plan.pretrain.epochs + plan.warm.epochs + plan.cycles * plan.joint.epochs);
      }
    }
    expect(CLAIM_RULES.baselineMargin).toBe(0.035);
    expect(getStudy('protopnet').notebook).toBe('notebooks/03-protopnet.ipynb');
  });

  test('the stages: warm (add-on, prototypes), then per cycle joint and a last-layer stage that starts with the push', () => {
    const plan = { ...PROTOPNET_CONFIGS.quick.datasets[0], cycles: 2 };
    const push = () => undefined;
    const stages = protoPNetStages(plan, () => tf.scalar(0), push);
    expect(stages.map((s) => [s.name, s.epochs])).toEqual([
      ['warm', plan.warm.epochs],
      ['joint', plan.joint.epochs],
      ['last layer', plan.lastLayer.epochs],
      ['joint', plan.joint.epochs],
      ['last layer', plan.lastLayer.epochs],
    ]);
    expect(stages.filter((s) => s.onStart === push).length).toBe(2);
    expect(stages[0].groups!.map((g) => g.trainable)).toEqual([['addon/', 'latent/'], ['prototype_distances/']]);
    expect(stages[0].groups!.map((g) => g.optimizer!.weightDecay)).toEqual([plan.warm.weightDecay, 0]);
    expect(stages[2].trainable).toEqual(['logits/']);
  });
});

describe('the loss hook', () => {
  /** 40 random 8x8x1 images of 2 classes. */
  const toy = () => {
    const rng = new Rng(2);
    const labels = Int32Array.from({ length: 40 }, (_, i) => i % 2);
    const images = Uint8Array.from({ length: 40 * 64 }, () => rng.int(256));
    return new Dataset({ name: 'toy', split: 'train', images, labels, height: 8, width: 8, channels: 1, classNames: ['a', 'b'] });
  };
  const input = { inputShape: [8, 8, 1] as [number, number, number], numClasses: 2 };
  // No BatchNorm: the hook's forward pass runs in training mode, predict() in inference mode.
  const protoNet = () =>
    buildProtoPNet(
      buildModel({ family: 'gap', widths: [4, 4], batchNorm: false }, input, new Rng(1)),
      { channels: 3, prototypeClasses: prototypesPerClass(2, 2) },
      input,
      new Rng(2),
    );
  const plan = { ...PROTOPNET_CONFIGS.quick.datasets[0], channels: 3 };

  test('equals CE + 0.8 Clst - 0.08 Sep + 1e-4 L1 of the literal costs', () => {
    const model = protoNet();
    const data = toy();
    const { x, y } = data.batch(Array.from({ length: 10 }, (_, i) => i));
    const [logits, minD] = lossModel(model).predict(x) as tf.Tensor[];
    const kernel = model.getLayer('logits').getWeights()[0];
    const lit = prototypeCostsLiteral(minD.dataSync(), Array.from(y.dataSync()), prototypesPerClass(2, 2), kernel.dataSync(), 2);
    const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(y, 2), logits).dataSync()[0];
    const expected = ce + 0.8 * lit.cluster - 0.08 * lit.separation + 1e-4 * lit.l1;
    const hook = protoPNetLoss(model, plan, 2);
    const weights = new Map(model.weights.map((w) => [w.originalName, w.read() as tf.Variable]));
    const out = hook({
      model,
      x,
      y,
      logits: logits as tf.Tensor2D,
      numClasses: 2,
      epoch: 0,
      stageEpoch: 0,
      batch: 0,
      stage: 'warm',
      weight: (n) => weights.get(n)!,
    });
    const loss = 'loss' in out ? out.loss : out;
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 4);
  });

  test('through the trainer, warm moves only the add-on and prototypes; the last-layer stage only the last layer', async () => {
    const model = protoNet();
    const data = toy();
    const before = Object.fromEntries(model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
    const stages = protoPNetStages(
      { ...plan, warm: { ...plan.warm, epochs: 1 }, joint: { ...plan.joint, epochs: 0 }, lastLayer: { ...plan.lastLayer, epochs: 1 } },
      protoPNetLoss(model, plan, 2),
      () => undefined,
    );
    const snapshots: Record<string, number[]>[] = [];
    await train(
      model,
      { train: data },
      {
        epochs: 2,
        batchSize: 10,
        stages,
        progress: false,
        onEpoch: () => snapshots.push(Object.fromEntries(model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]))),
      },
    );
    const changed = (a: Record<string, number[]>, b: Record<string, number[]>) =>
      Object.keys(a)
        .filter((k) => a[k].some((v, i) => v !== b[k][i]))
        .sort();
    const trainable = (names: string[]) => names.filter((n) => !n.includes('moving_'));
    expect(trainable(changed(before, snapshots[0]))).toEqual([
      'addon/bias',
      'addon/kernel',
      'latent/bias',
      'latent/kernel',
      'prototype_distances/prototypes',
    ]);
    expect(trainable(changed(snapshots[0], snapshots[1]))).toEqual(['logits/kernel']);
  });
});

describe('the run cache', () => {
  const toyData = (n: number, split: 'train' | 'test', seed: number) => {
    const rng = new Rng(seed);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
    const images = Uint8Array.from({ length: n * 64 }, () => rng.int(256));
    return new Dataset({ name: 'toy', split, images, labels, height: 8, width: 8, channels: 1, classNames: ['a', 'b'] });
  };
  const base = PROTOPNET_CONFIGS.quick.datasets[0];
  const plan: DatasetPlan = {
    ...base,
    backbone: { family: 'vgg', widths: [4], convs: 1, hidden: 8, batchNorm: false },
    batchSize: 10,
    channels: 3,
    perClass: 2,
    warm: { ...base.warm, epochs: 1 },
    joint: { ...base.joint, epochs: 1 },
    lastLayer: { ...base.lastLayer, epochs: 1 },
    prune: { ...base.prune, lastEpochs: 1 },
  };
  /** A toy dataset session: 40 training, 10 validation and 10 test images of 8x8, a randomly initialised backbone. */
  const session = (p: DatasetPlan): ProtoPNetData => {
    const all = toyData(50, 'train', 3);
    const train = all.subset(Array.from({ length: 40 }, (_, i) => i + 10));
    const val = all.subset(Array.from({ length: 10 }, (_, i) => i));
    const test = toyData(10, 'test', 4);
    const model = buildFor(p.backbone, train, 5);
    const pretrained = { model, epochs: 0, params: 0, history: [], trainSeconds: 0, fromCache: false };
    const { x, y } = test.batch(Array.from({ length: 10 }, (_, i) => i));
    const labels = Array.from(y.dataSync());
    y.dispose();
    return { plan: p, seed: 0, train, val, test, rng: new Rng(0).fork('toy'), pretrained, x, labels, seconds: {} };
  };
  const keyOf = (p: DatasetPlan) => {
    const ds = session(p);
    const loss = () => tf.scalar(0);
    const key = protoPNetRunKey(ds, [...protoPNetStages(p, loss, () => undefined), pruneStage(p, loss)]);
    disposeDataset(ds);
    return key;
  };

  test('a second run loads the first: same records, same models, same predictions; nothing half-written', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'protopnet-cache-'));
    try {
      const ds = session(plan);
      const first = await trainProtoPNet(ds, { cacheDir: dir });
      expect(first.fromCache).toBe(false);
      expect(fs.readdirSync(dir)).toEqual([path.basename(first.dir)]);
      expect(fs.readdirSync(first.dir).sort()).toEqual(['model', 'pruned', 'run.json']);
      const second = await trainProtoPNet(ds, { cacheDir: dir });
      expect(second.fromCache).toBe(true);
      expect(second.key).toBe(first.key);
      const records = (r: ProtoPNetRun) => {
        const { model: _m, pruned: _p, fromCache: _f, ...rest } = r;
        return rest;
      };
      expect(records(second)).toEqual(records(first));
      for (const m of ['model', 'pruned'] as const) {
        expect(second[m].getWeights().map((w) => Array.from(w.dataSync()))).toEqual(
          first[m].getWeights().map((w) => Array.from(w.dataSync())),
        );
        const a = (first[m].predict(ds.x) as tf.Tensor).dataSync();
        expect(Array.from((second[m].predict(ds.x) as tf.Tensor).dataSync())).toEqual(Array.from(a));
      }
      disposeRun(first);
      disposeRun(second);
      disposeDataset(ds);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the key follows what changes the run (the schedule, the head, pruning) and ignores what only the figures use', () => {
    const k = keyOf(plan);
    expect(keyOf({ ...plan })).toBe(k);
    expect(
      keyOf({ ...plan, label: 'another', reasoningImages: 9, galleryPrototypes: 3, occlusion: { images: 1, window: 2, stride: 1 } }),
    ).toBe(k);
    expect(keyOf({ ...plan, channels: 4 })).not.toBe(k);
    expect(keyOf({ ...plan, prune: { ...plan.prune, tau: 2 } })).not.toBe(k);
    expect(keyOf({ ...plan, joint: { ...plan.joint, lr: 0.5 } })).not.toBe(k);
  });

  test('a run folder without its records is a clear error', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'protopnet-cache-'));
    try {
      fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ key: 'k' }));
      await expect(loadRun(dir)).rejects.toThrow(/no "prototypeClasses".*delete the folder/);
      expect(await loadRun(path.join(dir, 'absent'))).toBeNull();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

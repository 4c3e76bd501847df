/**
 * `tessera bench`: training and inference speed of the engine on two fixed conv nets, and of PyTorch on the same
 * nets when /usr/bin/python3 imports torch (same threads), with the ratios.
 *
 * reference: conv3x3 32 same relu > maxpool2 > conv3x3 64 same relu > maxpool2 > conv3x3 64 same relu > GAP >
 *            dense 10, input 28x28x1.
 * conv64:    four blocks (conv3x3 same relu, conv3x3 stride 2 same relu) of widths 32-64-128-128 > GAP > dense 10,
 *            input 64x64x3.
 * bagnet:    lib/models' BagNet-17 (widths 32-64-128, strides 2-2-1, batch norm), input 64x64x3, 10 classes.
 * antialiased: conv64 with each stride-2 conv made anti-aliased as in Zhang (2019): conv3x3 stride 1 relu > BlurPool
 *            (tri-3, reflect pad, stride 2), the building block of the shift-invariance study.
 * Batch 64, Adam, softmax cross-entropy; each figure is the best of `reps` timed runs after a warm-up.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { initEngine, describeEngine } from './index';

export interface NetSpeed {
  train_ips: number;
  infer_ips: number;
}

export interface BenchResult {
  backend: string;
  threads: number;
  engine: string;
  batch: number;
  reps: number;
  nets: Record<string, NetSpeed>;
  pytorch?: { version: string; threads: number; nets: Record<string, NetSpeed> } | { error: string };
  ratios?: Record<string, { train: number; infer: number }>;
  seconds: number;
}

export const BENCH_NETS = ['reference', 'conv64', 'bagnet', 'antialiased'] as const;
export type BenchNet = (typeof BENCH_NETS)[number];
const BATCH = 64;

/** The benchmark nets as tfjs-layers models (softmax output; BagNet outputs logits). */
export function buildBenchNet(name: BenchNet): tf.LayersModel {
  if (name === 'bagnet') {
    // Loaded lazily: the engine does not otherwise depend on lib/models.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const models = require('../models') as typeof import('../models');
    return models.buildModel({ family: 'bagnet', q: 17 }, { inputShape: [64, 64, 3], numClasses: 10 }, 0);
  }
  const conv = (filters: number, strides = 1, inputShape?: number[]) =>
    tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', activation: 'relu', ...(inputShape ? { inputShape } : {}) });
  const m = tf.sequential();
  if (name === 'reference') {
    m.add(conv(32, 1, [28, 28, 1]));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(conv(64));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(conv(64));
  } else {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const blurPool = name === 'antialiased' ? (require('../models/blurpool') as typeof import('../models/blurpool')).BlurPool : null;
    [32, 64, 128, 128].forEach((w, i) => {
      m.add(conv(w, 1, i === 0 ? [64, 64, 3] : undefined));
      if (blurPool) {
        m.add(conv(w, 1));
        m.add(new blurPool({ filter: 'tri-3', stride: 2 }));
      } else m.add(conv(w, 2));
    });
  }
  m.add(tf.layers.globalAveragePooling2d({}));
  m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  return m;
}

function inputShape(name: BenchNet): number[] {
  return name === 'reference' ? [28, 28, 1] : [64, 64, 3];
}

function benchLoss(name: BenchNet): string | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor) {
  return name === 'bagnet' ? (yTrue, yPred) => tf.losses.softmaxCrossEntropy(yTrue, yPred) : 'categoricalCrossentropy';
}

/** Best images/s of `reps` runs of `steps` calls of fn, after `warm` untimed calls. */
async function bestIps(fn: () => Promise<void>, steps: number, reps: number, warm: number): Promise<number> {
  for (let i = 0; i < warm; i++) await fn();
  let best = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < steps; i++) await fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.max(best, (steps * BATCH) / s);
  }
  return best;
}

/** Steps per timed run so that one run takes roughly `seconds` at an estimated speed. */
function stepsFor(ipsGuess: number, seconds: number): number {
  return Math.max(2, Math.min(50, Math.round((ipsGuess * seconds) / BATCH)));
}

async function benchNet(name: BenchNet, reps: number): Promise<NetSpeed> {
  const model = buildBenchNet(name);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: benchLoss(name) });
  const x = tf.randomUniform([BATCH, ...inputShape(name)]);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32'), 10);
  const train = async () => {
    await model.trainOnBatch(x, y);
  };
  const infer = async () => {
    const p = model.predict(x) as tf.Tensor;
    await p.data();
    p.dispose();
  };
  // One timed step to size the runs (about 1.5 s of training, 1 s of inference each).
  await train();
  let t0 = Date.now();
  await train();
  const trainGuess = BATCH / Math.max(1e-3, (Date.now() - t0) / 1000);
  await infer();
  t0 = Date.now();
  await infer();
  const inferGuess = BATCH / Math.max(1e-3, (Date.now() - t0) / 1000);
  const train_ips = await bestIps(train, stepsFor(trainGuess, 1.5), reps, 1);
  const infer_ips = await bestIps(infer, stepsFor(inferGuess, 1), reps, 1);
  tf.dispose([x, y]);
  model.dispose();
  return { train_ips: round(train_ips), infer_ips: round(infer_ips) };
}

const round = (v: number) => Math.round(v * 10) / 10;

/** Runs the PyTorch side through /usr/bin/python3 (or $TESSERA_PYTHON); an error object when torch is missing. */
export function runTorchBench(threads: number, reps: number, nets: readonly string[] = BENCH_NETS): BenchResult['pytorch'] {
  const python = process.env.TESSERA_PYTHON || '/usr/bin/python3';
  const script = path.join(__dirname, 'bench_torch.py');
  if (!fs.existsSync(python)) return { error: `${python} not found; install python3-torch for the PyTorch comparison` };
  const r = spawnSync(
    python,
    [script, '--threads', String(threads), '--reps', String(reps), '--batch', String(BATCH), '--nets', nets.join(',')],
    {
      encoding: 'utf8',
      timeout: 240_000,
      env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY || 'passive' },
    },
  );
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || '').trim().split('\n').slice(-1)[0];
    return { error: `PyTorch comparison skipped: ${python} ${path.basename(script)} failed (${why}); apt-get install python3-torch` };
  }
  return JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]);
}

/** The benchmark: one JSON-able object (see the module comment). Takes 1-3 minutes. */
export async function runBench(opts: { reps?: number; backend?: string; nets?: BenchNet[]; torch?: boolean } = {}): Promise<BenchResult> {
  const t0 = Date.now();
  const reps = opts.reps ?? 3;
  const info = await initEngine({ backend: opts.backend, quiet: true });
  const nets: Record<string, NetSpeed> = {};
  const torchNets: Record<string, NetSpeed> = {};
  let torchInfo: { version: string; threads: number } | null = null;
  let torchError: string | null = null;
  // Each net runs on the engine and then in PyTorch, so that both see the same machine load.
  for (const name of opts.nets ?? BENCH_NETS) {
    nets[name] = await benchNet(name, reps);
    if (opts.torch === false || torchError) continue;
    const pt = runTorchBench(info.threads, reps, [name]);
    if (pt && 'nets' in pt) {
      torchInfo = { version: pt.version, threads: pt.threads };
      torchNets[name] = pt.nets[name];
    } else torchError = pt ? pt.error : 'no result';
  }
  const result: BenchResult = {
    backend: info.backend,
    threads: info.threads,
    engine: describeEngine(info),
    batch: BATCH,
    reps,
    nets,
    seconds: 0,
  };
  if (opts.torch !== false) {
    if (torchInfo) {
      result.pytorch = { ...torchInfo, nets: torchNets };
      result.ratios = {};
      for (const name of Object.keys(torchNets)) {
        const p = torchNets[name];
        result.ratios[name] = { train: round2(nets[name].train_ips / p.train_ips), infer: round2(nets[name].infer_ips / p.infer_ips) };
      }
    } else result.pytorch = { error: torchError ?? 'PyTorch comparison skipped' };
  }
  result.seconds = Math.round((Date.now() - t0) / 1000);
  return result;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

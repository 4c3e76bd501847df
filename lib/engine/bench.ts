/**
 * `tessera bench`: training and inference speed of the engine on four fixed conv nets, and of PyTorch on the same
 * nets when /usr/bin/python3 imports torch (same threads), with the ratios.
 *
 * reference: conv3x3 32 same relu > maxpool2 > conv3x3 64 same relu > maxpool2 > conv3x3 64 same relu > GAP >
 *            dense 10, input 28x28x1.
 * conv64:    four blocks (conv3x3 same relu, conv3x3 stride 2 same relu) of widths 32-64-128-128 > GAP > dense 10,
 *            input 64x64x3.
 * bagnet:    lib/models' BagNet-17 (widths 32-64-128, strides 2-2-1, batch norm), input 64x64x3, 10 classes.
 * antialiased: conv64 with each stride-2 conv made anti-aliased as in Zhang (2019): conv3x3 stride 1 relu > BlurPool
 *            (tri-3, reflect pad, stride 2), the building block of the shift-invariance study.
 * Batch 64, Adam, softmax cross-entropy; each figure is the best of `reps` timed runs after a warm-up, and the best
 * over `rounds` rounds in which the engine and PyTorch alternate on each net (the machine is shared: back to back,
 * both see the same load). PyTorch runs in both memory formats (NCHW, channels_last); ratios use the better one.
 * Beside each net: its FLOPs per image (lib/engine/flops.ts), the GFLOP/s the engine achieved and that as a fraction
 * of the machine's limit, measured through the engine's own kernels (a large matmul and a large conv).
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { initEngine, describeEngine } from './index';
import { countFlops, type ModelFlops } from './flops';

/**
 * Images per second of wall time, and per CPU-second of the process (all its threads): the machine is shared, and
 * CPU time moves far less with the other jobs' load than wall time does.
 */
export interface NetSpeed {
  train_ips: number;
  infer_ips: number;
  train_cpu_ips: number;
  infer_cpu_ips: number;
}
const SPEED_KEYS = ['train_ips', 'infer_ips', 'train_cpu_ips', 'infer_cpu_ips'] as const;

/** PyTorch's memory formats: its default (contiguous NCHW) and channels_last (oneDNN's fast path on AVX-512). */
export const TORCH_FORMATS = ['nchw', 'channels_last'] as const;
export type TorchFormat = (typeof TORCH_FORMATS)[number];

/** PyTorch on one net: each memory format, and the better of the two for training and for inference. */
export interface TorchNetSpeed {
  formats: Record<TorchFormat, NetSpeed>;
  best: NetSpeed & { train_format: TorchFormat; infer_format: TorchFormat };
}

/** One net's line of the report. FLOPs are per image (lib/engine/flops.ts); fractions are of the machine's limit. */
export interface NetReport {
  engine: NetSpeed;
  flops: { train: number; infer: number };
  /** GFLOP/s the engine achieved (images/s x FLOPs per image) and that as a fraction of `limit.gflops`. */
  gflops: { train: number; infer: number };
  limit_fraction: { train: number; infer: number };
  pytorch?: TorchNetSpeed;
  /** Engine / PyTorch's better format, in images per second of wall time and per CPU-second. */
  ratio?: { train: number; infer: number };
  cpu_ratio?: { train: number; infer: number };
}

/** The machine's limit measured through the engine's own kernels: a large matmul and a large conv (GFLOP/s), the better
 * of a measurement before and one after the nets. */
export interface MachineLimit {
  matmul_gflops: number;
  conv_gflops: number;
  /** The larger of the two: the denominator of every fraction. */
  gflops: number;
}

export interface BenchResult {
  backend: string;
  threads: number;
  engine: string;
  batch: number;
  reps: number;
  rounds: number;
  limit: MachineLimit;
  nets: Record<string, NetReport>;
  pytorch: { version: string; threads: number } | { error: string } | null;
  /** 1-minute load averages before and after the run (the machine is shared: speeds move with the load). */
  load: { before: number; after: number };
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

/** Best images/s of wall time and per CPU-second over `reps` runs of `steps` calls of fn, after `warm` untimed calls. */
async function bestIps(fn: () => Promise<void>, steps: number, reps: number, warm: number): Promise<{ wall: number; cpu: number }> {
  for (let i = 0; i < warm; i++) await fn();
  const best = { wall: 0, cpu: 0 };
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < steps; i++) await fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    best.wall = Math.max(best.wall, (steps * BATCH) / s);
    best.cpu = Math.max(best.cpu, (steps * BATCH) / Math.max(1e-6, (c.user + c.system) / 1e6));
  }
  return best;
}

/** Steps per timed run so that one run takes roughly `seconds` at an estimated speed. */
function stepsFor(ipsGuess: number, seconds: number): number {
  return Math.max(2, Math.min(50, Math.round((ipsGuess * seconds) / BATCH)));
}

/** A net compiled for the bench, with its train and infer steps on one fixed batch. */
interface BenchModel {
  train(): Promise<void>;
  infer(): Promise<void>;
  flops: ModelFlops;
  dispose(): void;
}

function benchModel(name: BenchNet): BenchModel {
  const model = buildBenchNet(name);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: benchLoss(name) });
  const x = tf.randomUniform([BATCH, ...inputShape(name)]);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32'), 10);
  return {
    async train() {
      await model.trainOnBatch(x, y);
    },
    async infer() {
      const p = model.predict(x) as tf.Tensor;
      await p.data();
      p.dispose();
    },
    flops: countFlops(model),
    dispose() {
      tf.dispose([x, y]);
      model.dispose();
    },
  };
}

/** Images/s of one call of fn (after one untimed call), to size the timed runs. */
async function guessIps(fn: () => Promise<void>): Promise<number> {
  await fn();
  const t0 = Date.now();
  await fn();
  return BATCH / Math.max(1e-3, (Date.now() - t0) / 1000);
}

/** The engine's best images/s on a net (about 1.5 s of training and 1 s of inference a timed run). */
async function benchEngine(m: BenchModel, reps: number): Promise<NetSpeed> {
  const train = await bestIps(m.train, stepsFor(await guessIps(m.train), 1.5), reps, 1);
  const infer = await bestIps(m.infer, stepsFor(await guessIps(m.infer), 1), reps, 1);
  return { train_ips: round(train.wall), infer_ips: round(infer.wall), train_cpu_ips: round(train.cpu), infer_cpu_ips: round(infer.cpu) };
}

const round = (v: number) => Math.round(v * 10) / 10;
const round2 = (v: number) => Math.round(v * 100) / 100;
const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** The PyTorch script's output: each net in each memory format. */
export interface TorchRun {
  version: string;
  threads: number;
  nets: Record<string, Record<TorchFormat, NetSpeed>>;
}

/** Runs the PyTorch side through /usr/bin/python3 (or $TESSERA_PYTHON); an error object when torch is missing. */
export function runTorchBench(threads: number, reps: number, nets: readonly string[] = BENCH_NETS): TorchRun | { error: string } {
  const python = process.env.TESSERA_PYTHON || '/usr/bin/python3';
  const script = path.join(__dirname, 'bench_torch.py');
  if (!fs.existsSync(python)) return { error: `${python} not found; install python3-torch for the PyTorch comparison` };
  const r = spawnSync(
    python,
    [script, '--threads', String(threads), '--reps', String(reps), '--batch', String(BATCH), '--nets', nets.join(',')],
    {
      encoding: 'utf8',
      timeout: 600_000,
      env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY || 'passive' },
    },
  );
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || '').trim().split('\n').slice(-1)[0];
    return { error: `PyTorch comparison skipped: ${python} ${path.basename(script)} failed (${why}); apt-get install python3-torch` };
  }
  return JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]);
}

/** Best GFLOP/s of `reps` runs of fn, which performs `flops` FLOPs (after one warm-up call). */
async function bestGflops(fn: () => tf.Tensor, flops: number, reps: number): Promise<number> {
  const once = async () => {
    const t = fn();
    await t.data();
    t.dispose();
  };
  await once();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    await once();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return flops / best / 1e9;
}

/**
 * The machine's limit through the engine's own kernels: a 2048^3 matmul and a 3x3 conv of 128 -> 128 channels on
 * 16 x 56 x 56 (same padding), best of `reps`. Both run the backend's fastest paths (BLAS, oneDNN).
 */
export async function measureLimit(reps = 3): Promise<MachineLimit> {
  const n = 2048;
  const [a, b] = [tf.randomUniform([n, n]), tf.randomUniform([n, n])];
  const matmul = await bestGflops(() => tf.matMul(a, b), 2 * n ** 3, reps);
  const [N, H, W, C] = [16, 56, 56, 128];
  const x = tf.randomUniform([N, H, W, C]) as tf.Tensor4D;
  const w = tf.randomUniform([3, 3, C, C]) as tf.Tensor4D;
  const conv = await bestGflops(() => tf.conv2d(x, w, 1, 'same'), 2 * N * H * W * 9 * C * C, reps);
  tf.dispose([a, b, x, w]);
  return { matmul_gflops: round(matmul), conv_gflops: round(conv), gflops: round(Math.max(matmul, conv)) };
}

/** The better of PyTorch's memory formats, for training and for inference (and wall and CPU time) separately. */
export function bestFormat(formats: Record<TorchFormat, NetSpeed>): TorchNetSpeed['best'] {
  const pick = (k: keyof NetSpeed) => TORCH_FORMATS.reduce((p, f) => (formats[f][k] > formats[p][k] ? f : p), TORCH_FORMATS[0]);
  const best = Object.fromEntries(SPEED_KEYS.map((k) => [k, formats[pick(k)][k]])) as unknown as NetSpeed;
  return { ...best, train_format: pick('train_ips'), infer_format: pick('infer_ips') };
}

/** Keeps the better of two measurements of the same thing, field by field (best over interleaved rounds). */
function better(a: NetSpeed | undefined, b: NetSpeed): NetSpeed {
  return a ? (Object.fromEntries(SPEED_KEYS.map((k) => [k, Math.max(a[k], b[k])])) as unknown as NetSpeed) : b;
}

/** One net's report line from its measurements (pure: the ratios, GFLOP/s and fractions). */
export function netReport(engine: NetSpeed, flops: ModelFlops, limit: MachineLimit, torch?: Record<TorchFormat, NetSpeed>): NetReport {
  const gflops = { train: (engine.train_ips * flops.train) / 1e9, infer: (engine.infer_ips * flops.forward) / 1e9 };
  const report: NetReport = {
    engine,
    flops: { train: flops.train, infer: flops.forward },
    gflops: { train: round(gflops.train), infer: round(gflops.infer) },
    limit_fraction: { train: round3(gflops.train / limit.gflops), infer: round3(gflops.infer / limit.gflops) },
  };
  if (torch) {
    const best = bestFormat(torch);
    report.pytorch = { formats: torch, best };
    report.ratio = { train: round2(engine.train_ips / best.train_ips), infer: round2(engine.infer_ips / best.infer_ips) };
    report.cpu_ratio = {
      train: round2(engine.train_cpu_ips / best.train_cpu_ips),
      infer: round2(engine.infer_cpu_ips / best.infer_cpu_ips),
    };
  }
  return report;
}

/**
 * The benchmark: one JSON-able object (see the module comment). Each net runs `rounds` times, alternating the engine
 * and PyTorch (both formats) so that both see the same machine load; each figure is the best over the rounds.
 */
export async function runBench(
  opts: { reps?: number; rounds?: number; backend?: string; nets?: BenchNet[]; torch?: boolean } = {},
): Promise<BenchResult> {
  const t0 = Date.now();
  const loadBefore = os.loadavg()[0];
  const reps = opts.reps ?? 3;
  const rounds = opts.rounds ?? 2;
  const info = await initEngine({ backend: opts.backend, quiet: true });
  const first = await measureLimit();
  const measured: { name: string; engine: NetSpeed; flops: ModelFlops; torch?: Record<TorchFormat, NetSpeed> }[] = [];
  let torchInfo: BenchResult['pytorch'] = null;
  for (const name of opts.nets ?? BENCH_NETS) {
    const m = benchModel(name);
    let engine: NetSpeed | undefined;
    let torch: Record<TorchFormat, NetSpeed> | undefined;
    for (let r = 0; r < rounds; r++) {
      engine = better(engine, await benchEngine(m, reps));
      if (opts.torch === false || (torchInfo && 'error' in torchInfo)) continue; // off, or failed once already
      const pt = runTorchBench(info.threads, reps, [name]);
      if ('error' in pt) {
        torchInfo = pt;
        continue;
      }
      torchInfo = { version: pt.version, threads: pt.threads };
      const got = pt.nets[name];
      torch = Object.fromEntries(TORCH_FORMATS.map((f) => [f, better(torch?.[f], got[f])])) as Record<TorchFormat, NetSpeed>;
    }
    measured.push({ name, engine: engine as NetSpeed, flops: m.flops, torch });
    m.dispose();
  }
  // The limit is measured before and after the nets and the better kept: a loaded moment would flatter the fractions.
  const last = await measureLimit();
  const limit: MachineLimit = {
    matmul_gflops: Math.max(first.matmul_gflops, last.matmul_gflops),
    conv_gflops: Math.max(first.conv_gflops, last.conv_gflops),
    gflops: Math.max(first.gflops, last.gflops),
  };
  const nets = Object.fromEntries(measured.map((n) => [n.name, netReport(n.engine, n.flops, limit, n.torch)]));
  return {
    backend: info.backend,
    threads: info.threads,
    engine: describeEngine(info),
    batch: BATCH,
    reps,
    rounds,
    limit,
    nets,
    pytorch: torchInfo,
    load: { before: round2(loadBefore), after: round2(os.loadavg()[0]) },
    seconds: Math.round((Date.now() - t0) / 1000),
  };
}

/** The report as a markdown table (images/s, engine / PyTorch's better format, GFLOP/s and fraction of the limit). */
export function formatBenchTable(r: BenchResult): string {
  const fmt = (s?: NetSpeed, k: keyof NetSpeed = 'train_ips') => (s ? String(Math.round(s[k])) : '-');
  const lines = [
    `${r.engine}; batch ${r.batch}, best of ${r.reps} x ${r.rounds} rounds; load ${r.load.before} -> ${r.load.after}`,
    `machine limit (engine kernels): matmul ${r.limit.matmul_gflops} GFLOP/s, conv ${r.limit.conv_gflops} GFLOP/s`,
    r.pytorch && 'version' in r.pytorch
      ? `PyTorch ${r.pytorch.version}, ${r.pytorch.threads} threads`
      : `PyTorch: ${r.pytorch?.error ?? 'off'}`,
    '',
    'img/s of wall time; img/CPU-s = images per CPU-second of the process (steadier on a shared machine).',
    '',
    '| net | step | engine img/s | PyTorch NCHW | PyTorch channels_last | ratio (vs better) | ratio by img/CPU-s | MFLOP/img | ' +
      'engine GFLOP/s | of limit |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, n] of Object.entries(r.nets)) {
    for (const [step, k, f] of [
      ['train', 'train_ips', 'train'],
      ['infer', 'infer_ips', 'infer'],
    ] as const) {
      const pt = n.pytorch?.formats;
      const cells = [
        name,
        step,
        fmt(n.engine, k),
        fmt(pt?.nchw, k),
        fmt(pt?.channels_last, k),
        n.ratio ? `${n.ratio[f].toFixed(2)}x` : '-',
        n.cpu_ratio ? `${n.cpu_ratio[f].toFixed(2)}x` : '-',
        (n.flops[f] / 1e6).toFixed(1),
        n.gflops[f].toFixed(1),
        `${(n.limit_fraction[f] * 100).toFixed(1)}%`,
      ];
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

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
 * Batch 64, Adam, softmax cross-entropy. The machine is shared, and its speed moves by up to 2x within minutes, so
 * the comparison is paired: each net runs `rounds` rounds, and in each round, for training and then inference, the
 * engine and PyTorch in both memory formats (NCHW, channels_last; a long-lived worker, torch-worker.ts) each make one
 * timed run (the best of `reps`) of the same number of batches, back to back, in an order that reverses every round.
 * The paired ratio is the geometric mean over rounds of engine / PyTorch's better format (the one faster over the
 * rounds), with a 95% bootstrap interval over rounds; the floor (engine at least as fast) holds when that interval is
 * above 1.0. Beside it, each side's best run over the rounds and their ratio, by wall time and per CPU-second. Beside
 * each net: its FLOPs per image (lib/engine/flops.ts), the GFLOP/s the engine achieved and that as a fraction of the
 * machine's limit, measured through the engine's own kernels (a large matmul and a large conv).
 */
import * as tf from '@tensorflow/tfjs';
import * as os from 'os';
import { initEngine, describeEngine } from './index';
import { countFlops, type ModelFlops } from './flops';
import { TorchWorker, type RunSpeed } from './torch-worker';
import { bootstrapInterval, verdictFromInterval } from '../analysis/intervals';
import type { Verdict } from '../studies/types';
import { Rng } from '../util/rng';

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
  /** Engine's best run / PyTorch's better format's best run, in images per second of wall time and per CPU-second. */
  ratio?: { train: number; infer: number };
  cpu_ratio?: { train: number; infer: number };
  /** The paired comparison over rounds (the bench's verdict): see PairedRatio. */
  paired?: { train: PairedRatio; infer: PairedRatio };
}

/** A ratio with its 95% bootstrap interval over rounds. */
export interface RatioInterval {
  ratio: number;
  low: number;
  high: number;
}

/**
 * Engine / PyTorch on one step, paired by round: the geometric mean over rounds of the engine's run / PyTorch's run in
 * the same round (PyTorch in its better format: the one with the higher geometric mean of wall images/s), by wall time
 * and per CPU-second, each with a 95% percentile-bootstrap interval over rounds.
 */
export interface PairedRatio {
  format: TorchFormat;
  rounds: number;
  wall: RatioInterval;
  cpu: RatioInterval;
  /** "The engine is at least as fast": holds when the wall interval is above 1.0, fails when below, else inconclusive. */
  floor: Verdict;
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
  /** Timed runs per side per round (the best kept) and rounds. */
  reps: number;
  rounds: number;
  limit: MachineLimit;
  nets: Record<string, NetReport>;
  /** PyTorch's version, threads and the glibc malloc settings it ran with (torch-worker.ts: TORCH_MALLOC). */
  pytorch: { version: string; threads: number; malloc: string } | { error: string } | null;
  /** 1-minute load averages before and after the run (the machine is shared: speeds move with the load). */
  load: { before: number; after: number };
  seconds: number;
}

/** Timed runs per side per round (the best kept), and paired rounds. */
export const BENCH_DEFAULTS = { reps: 1, rounds: 8 };

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

/** One timed run: the best images/s of wall time and per CPU-second over `reps` runs of `steps` calls of fn. */
async function timedRun(fn: () => Promise<void>, steps: number, reps: number): Promise<RunSpeed> {
  const best = { ips: 0, cpu_ips: 0 };
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < steps; i++) await fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    best.ips = Math.max(best.ips, (steps * BATCH) / s);
    best.cpu_ips = Math.max(best.cpu_ips, (steps * BATCH) / Math.max(1e-6, (c.user + c.system) / 1e6));
  }
  return best;
}

/** Steps per timed run so that one run takes roughly `seconds` at an estimated speed. */
function stepsFor(ipsGuess: number, seconds: number): number {
  return Math.max(2, Math.min(50, Math.round((ipsGuess * seconds) / BATCH)));
}

/** Seconds of one timed run of the engine (PyTorch runs the same number of batches). */
const RUN_SECONDS = { train: 0.75, infer: 0.5 };
const STEPS = ['train', 'infer'] as const;
type Step = (typeof STEPS)[number];

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

/** Images/s of one call of fn (after two untimed calls, which also warm it up), to size the timed runs. */
async function guessIps(fn: () => Promise<void>): Promise<number> {
  await fn();
  await fn();
  const t0 = Date.now();
  await fn();
  return BATCH / Math.max(1e-3, (Date.now() - t0) / 1000);
}

const round = (v: number) => Math.round(v * 10) / 10;
const round2 = (v: number) => Math.round(v * 100) / 100;
const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** Engine and PyTorch runs of one net, per step, in round order. */
type Runs = Record<Step, { engine: RunSpeed[] } & Partial<Record<TorchFormat, RunSpeed[]>>>;

/** Best images/s of a side over its runs (the headline figures and the GFLOP/s). */
function bestOf(runs: Runs, side: 'engine' | TorchFormat): NetSpeed {
  const max = (step: Step, k: keyof RunSpeed) => round(Math.max(...(runs[step][side] ?? []).map((r) => r[k])));
  return {
    train_ips: max('train', 'ips'),
    infer_ips: max('infer', 'ips'),
    train_cpu_ips: max('train', 'cpu_ips'),
    infer_cpu_ips: max('infer', 'cpu_ips'),
  };
}

/** Geometric mean of engine[i] / torch[i] with its 95% percentile-bootstrap interval over the pairs (seeded: fixed). */
function pairedLogRatio(engine: number[], torch: number[]): RatioInterval {
  const logs = engine.map((e, i) => Math.log(e / torch[i]));
  const mean = (idx: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < idx.length; i++) s += logs[idx[i]];
    return s / idx.length;
  };
  const iv = bootstrapInterval(logs.length, mean, new Rng(0), { unit: 'rounds' });
  return { ratio: round3(Math.exp(mean(logs.map((_, i) => i)))), low: round3(Math.exp(iv.low)), high: round3(Math.exp(iv.high)) };
}

/** The paired comparison of one step (see PairedRatio) from the runs of each round, in round order. */
export function pairedRatio(engine: RunSpeed[], torch: Record<TorchFormat, RunSpeed[]>): PairedRatio {
  const n = engine.length;
  if (n < 1 || TORCH_FORMATS.some((f) => torch[f].length !== n)) {
    const found = TORCH_FORMATS.map((f) => `${torch[f].length} ${f}`).join(', ');
    throw new Error(`pairedRatio: every side needs one run a round; found ${n} engine runs and ${found}`);
  }
  const geo = (runs: RunSpeed[]) => runs.reduce((s, r) => s + Math.log(r.ips), 0);
  const format = TORCH_FORMATS.reduce((p, f) => (geo(torch[f]) > geo(torch[p]) ? f : p), TORCH_FORMATS[0]);
  const side = (k: keyof RunSpeed) =>
    pairedLogRatio(
      engine.map((r) => r[k]),
      torch[format].map((r) => r[k]),
    );
  const wall = side('ips');
  return {
    format,
    rounds: n,
    wall,
    cpu: side('cpu_ips'),
    floor: verdictFromInterval({ low: wall.low, high: wall.high, level: 0.95, over: 'rounds' }, 1, 'above'),
  };
}

/**
 * Best GFLOP/s over `reps` runs of fn, which performs `flops` FLOPs (after one warm-up call). A run is CALLS_PER_RUN
 * calls back to back, then a read of the last result (an asynchronous backend finishes its queue there). Reading
 * every result copied it each time (a 26 MB conv output: 3-5 ms of a 15 ms call), which counted as compute and put
 * the limit below what the nets themselves reached (conv64 inference at 111% of it); one read in eight costs ~3%.
 */
const CALLS_PER_RUN = 8;
async function bestGflops(fn: () => tf.Tensor, flops: number, reps: number): Promise<number> {
  const run = async () => {
    for (let i = 1; i < CALLS_PER_RUN; i++) fn().dispose();
    const t = fn();
    await t.data();
    t.dispose();
  };
  await run();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    await run();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return (CALLS_PER_RUN * flops) / best / 1e9;
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

/** One net's report line from its measurements (pure: the ratios, GFLOP/s and fractions). */
export function netReport(
  engine: NetSpeed,
  flops: ModelFlops,
  limit: MachineLimit,
  torch?: Record<TorchFormat, NetSpeed>,
  paired?: NetReport['paired'],
): NetReport {
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
  if (paired) report.paired = paired;
  return report;
}

/**
 * The benchmark: one JSON-able object (see the module comment). Each net runs `rounds` rounds; in each, for training
 * and then inference, the engine and PyTorch in each memory format make one timed run (best of `reps`) back to back.
 */
export async function runBench(
  opts: { reps?: number; rounds?: number; backend?: string; nets?: BenchNet[]; torch?: boolean } = {},
): Promise<BenchResult> {
  const t0 = Date.now();
  const loadBefore = os.loadavg()[0];
  const reps = opts.reps ?? BENCH_DEFAULTS.reps;
  const rounds = opts.rounds ?? BENCH_DEFAULTS.rounds;
  const info = await initEngine({ backend: opts.backend, quiet: true });
  const first = await measureLimit();
  const worker = opts.torch === false ? null : await TorchWorker.start(info.threads, BATCH);
  const torchInfo: BenchResult['pytorch'] =
    worker === null
      ? null
      : typeof worker === 'string'
        ? { error: worker }
        : { version: worker.version, threads: worker.threads, malloc: worker.malloc };
  const torch = worker instanceof TorchWorker ? worker : null;
  const measured: {
    name: string;
    engine: NetSpeed;
    flops: ModelFlops;
    formats?: Record<TorchFormat, NetSpeed>;
    paired?: NetReport['paired'];
  }[] = [];
  try {
    for (const name of opts.nets ?? BENCH_NETS) {
      const m = benchModel(name);
      const steps = { train: 0, infer: 0 };
      for (const step of STEPS) steps[step] = stepsFor(await guessIps(m[step]), RUN_SECONDS[step]);
      const runs: Runs = { train: { engine: [] }, infer: { engine: [] } };
      for (let r = 0; r < rounds; r++) {
        for (const step of STEPS) {
          // The order reverses every round, so neither side always runs first (e.g. just after the other's warm caches).
          const sides = ['engine', ...(torch ? TORCH_FORMATS : [])] as ('engine' | TorchFormat)[];
          for (const side of r % 2 ? sides.reverse() : sides) {
            const run =
              side === 'engine'
                ? await timedRun(m[step], steps[step], reps)
                : await (torch as TorchWorker).run({ net: name, format: side, step, steps: steps[step], reps });
            (runs[step][side] ??= []).push(run);
          }
        }
      }
      const formats = torch
        ? (Object.fromEntries(TORCH_FORMATS.map((f) => [f, bestOf(runs, f)])) as Record<TorchFormat, NetSpeed>)
        : undefined;
      const paired = torch
        ? (Object.fromEntries(
            STEPS.map((step) => [step, pairedRatio(runs[step].engine, runs[step] as Record<TorchFormat, RunSpeed[]>)]),
          ) as NetReport['paired'])
        : undefined;
      measured.push({ name, engine: bestOf(runs, 'engine'), flops: m.flops, formats, paired });
      m.dispose();
    }
  } finally {
    torch?.stop();
  }
  // The limit is measured before and after the nets and the better kept: a loaded moment would flatter the fractions.
  const last = await measureLimit();
  const limit: MachineLimit = {
    matmul_gflops: Math.max(first.matmul_gflops, last.matmul_gflops),
    conv_gflops: Math.max(first.conv_gflops, last.conv_gflops),
    gflops: Math.max(first.gflops, last.gflops),
  };
  return {
    backend: info.backend,
    threads: info.threads,
    engine: describeEngine(info),
    batch: BATCH,
    reps,
    rounds,
    limit,
    nets: Object.fromEntries(measured.map((n) => [n.name, netReport(n.engine, n.flops, limit, n.formats, n.paired)])),
    pytorch: torchInfo,
    load: { before: round2(loadBefore), after: round2(os.loadavg()[0]) },
    seconds: Math.round((Date.now() - t0) / 1000),
  };
}

/** The report as a markdown table (images/s, engine / PyTorch's better format, GFLOP/s and fraction of the limit). */
export function formatBenchTable(r: BenchResult): string {
  const fmt = (s?: NetSpeed, k: keyof NetSpeed = 'train_ips') => (s ? String(Math.round(s[k])) : '-');
  const iv = (v: RatioInterval) => `${v.ratio.toFixed(2)}x [${v.low.toFixed(2)}, ${v.high.toFixed(2)}]`;
  const lines = [
    `${r.engine}; batch ${r.batch}, ${r.rounds} paired rounds, each run the best of ${r.reps}; load ${r.load.before} -> ${r.load.after}`,
    `machine limit (engine kernels): matmul ${r.limit.matmul_gflops} GFLOP/s, conv ${r.limit.conv_gflops} GFLOP/s`,
    r.pytorch && 'version' in r.pytorch
      ? `PyTorch ${r.pytorch.version}, ${r.pytorch.threads} threads, GLIBC_TUNABLES=${r.pytorch.malloc}`
      : `PyTorch: ${r.pytorch?.error ?? 'off'}`,
    '',
    'img/s: the best run of each side over the rounds (wall time). paired: geometric mean over rounds of engine / ' +
      "PyTorch's better format in the same round [95% bootstrap interval], by wall time and per CPU-second; " +
      '>= 1.0x: the wall interval against 1.0.',
    '',
    '| net | step | engine img/s | PyTorch NCHW | PyTorch channels_last | best / best | paired | paired by CPU | >= 1.0x | ' +
      'MFLOP/img | engine GFLOP/s | of limit |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, n] of Object.entries(r.nets)) {
    for (const [step, k] of [
      ['train', 'train_ips'],
      ['infer', 'infer_ips'],
    ] as const) {
      const pt = n.pytorch?.formats;
      const paired = n.paired?.[step];
      const cells = [
        name,
        step,
        fmt(n.engine, k),
        fmt(pt?.nchw, k),
        fmt(pt?.channels_last, k),
        n.ratio ? `${n.ratio[step].toFixed(2)}x` : '-',
        paired ? iv(paired.wall) : '-',
        paired ? iv(paired.cpu) : '-',
        paired ? paired.floor : '-',
        (n.flops[step] / 1e6).toFixed(1),
        n.gflops[step].toFixed(1),
        `${(n.limit_fraction[step] * 100).toFixed(1)}%`,
      ];
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

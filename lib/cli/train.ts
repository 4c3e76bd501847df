import * as path from 'path';
import type { Command } from './command';
import type { Dataset } from '../data/dataset';
import { intFlag, numberFlag, parseArgs, ParsedArgs, stringFlag } from '../util/args';
import { UserError } from '../util/errors';

const USAGE = `usage: tessera train --model <bagnet|vgg|resnet|gap> --dataset <name> [options]

Trains one model with a progress bar and prints, last, one JSON line: final validation accuracy, per-epoch losses,
backend, timing.

model:
  --model F            bagnet, vgg, resnet or gap
  --q N                BagNet patch size (default 9; 3..17 odd with the default 3 stages)
  --size S             small, medium or large (vgg, resnet, gap; default small)
  --depth D            alias of --size, or an integer: convs (vgg, gap) / blocks (resnet, bagnet) per stage
  --widths a,b,c       channels per stage (overrides the size preset)
  --antialias A        none, rect-2, tri-3, tri-4, bin-5 (vgg, resnet, gap; default none)
data:
  --dataset NAME       a dataset of lib/data (fashion-mnist, ...) or "toy" (8x8 bars, built in)
  --data DIR           where the dataset's files are
  --limit N            at most N training images per class, chosen by the seed (and N validation images per
                       class unless --val-limit)
  --val-limit N        at most N validation images per class
  --augment-shift N    random translation by up to N pixels
training:
  --epochs N           default 5
  --seed S             seeds weights, data order and augmentation (default 0)
  --batch-size N       default 32
  --optimizer O        adam (default, lr 1e-3) or sgd (momentum 0.9, lr 0.05, weight decay 5e-4)
  --lr X  --momentum X  --weight-decay X
  --schedule S         constant (default), step or cosine; --step-epochs N, --gamma X, --warmup N
  --checkpoint DIR     write a checkpoint every epoch into DIR
  --resume             continue from the latest checkpoint in DIR
  --cache              train through the model cache (data/models/<name>-<hash>/), reuse if present
  --save DIR           save the trained model (model.json + weights.bin) into DIR
  --backend NAME       force a tfjs backend (default: the fastest that loads)`;

const VALUES = [
  'model',
  'dataset',
  'data',
  'epochs',
  'seed',
  'checkpoint',
  'limit',
  'val-limit',
  'q',
  'size',
  'depth',
  'widths',
  'antialias',
  'batch-size',
  'optimizer',
  'lr',
  'momentum',
  'weight-decay',
  'schedule',
  'step-epochs',
  'gamma',
  'warmup',
  'augment-shift',
  'save',
  'backend',
  'top-k',
] as const;

/** Parses the model config from flags (exported for tests). */
export function modelConfigFromArgs(args: ParsedArgs): import('../models').ModelConfig {
  const family = stringFlag(args, 'model');
  if (!family) throw new UserError('train: --model is required (bagnet, vgg, resnet or gap)');
  const widthsText = stringFlag(args, 'widths');
  const widths = widthsText
    ? widthsText.split(',').map((w) => {
        const n = Number(w);
        if (!Number.isInteger(n) || n < 1)
          throw new UserError(`--widths expects positive integers separated by commas, found "${widthsText}"`);
        return n;
      })
    : undefined;
  const depth = stringFlag(args, 'depth');
  const sizes = ['small', 'medium', 'large'];
  let size = stringFlag(args, 'size');
  let perStage: number | undefined;
  if (depth !== undefined) {
    if (sizes.includes(depth)) size = depth;
    else if (/^\d+$/.test(depth) && Number(depth) >= 1) perStage = Number(depth);
    else throw new UserError(`--depth expects small, medium, large or a positive integer, found "${depth}"`);
  }
  if (size !== undefined && !sizes.includes(size)) throw new UserError(`--size expects small, medium or large, found "${size}"`);
  const antialias = stringFlag(args, 'antialias', 'none');
  if (!['none', 'rect-2', 'tri-3', 'tri-4', 'bin-5'].includes(antialias))
    throw new UserError(`--antialias expects none, rect-2, tri-3, tri-4 or bin-5, found "${antialias}"`);
  const sz = size as 'small' | 'medium' | 'large' | undefined;
  const aa = antialias as 'none';
  switch (family) {
    case 'bagnet': {
      if (antialias !== 'none') throw new UserError('--antialias does not apply to bagnet (it has no strided windows to alias)');
      const cfg: import('../models').BagNetConfig = { family: 'bagnet', q: intFlag(args, 'q', 9, { min: 1 }) };
      if (widths) cfg.widths = widths;
      if (perStage) cfg.blocks = (widths ?? [0, 0, 0]).map(() => perStage!);
      return cfg;
    }
    case 'vgg':
      return {
        family: 'vgg',
        ...(sz ? { size: sz } : {}),
        ...(widths ? { widths } : {}),
        ...(perStage ? { convs: perStage } : {}),
        antialias: aa,
      };
    case 'resnet':
      return {
        family: 'resnet',
        ...(sz ? { size: sz } : {}),
        ...(widths ? { widths } : {}),
        ...(perStage ? { blocks: perStage } : {}),
        antialias: aa,
      };
    case 'gap':
      return {
        family: 'gap',
        ...(sz ? { size: sz } : {}),
        ...(widths ? { widths } : {}),
        ...(perStage ? { convs: perStage } : {}),
        antialias: aa,
      };
    default:
      throw new UserError(`train: unknown --model "${family}"; expected bagnet, vgg, resnet or gap`);
  }
}

/** Loads train and validation (test split) sets: "toy" is built in, the rest come from lib/data's loadDataset. */
export async function loadTrainData(
  name: string,
  opts: { data?: string; seed: number; limit?: number; valLimit?: number },
): Promise<{ train: Dataset; val: Dataset }> {
  if (name === 'toy') {
    const { toyBars } = await import('../train/toy');
    return {
      train: toyBars(2 * (opts.limit ?? 128), opts.seed * 2 + 1, 8, 'train'),
      val: toyBars(2 * (opts.valLimit ?? 64), opts.seed * 2 + 2, 8, 'test'),
    };
  }
  const { loadDataset } = await import('../data');
  const train = await loadDataset(name, { data: opts.data, split: 'train', seed: opts.seed, limit: opts.limit });
  const val = await loadDataset(name, { data: opts.data, split: 'test', seed: opts.seed, limit: opts.valLimit });
  return { train, val };
}

export const command: Command = {
  name: 'train',
  summary: 'train a model (bagnet, vgg, resnet, gap) with checkpoints; prints a JSON line',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs(argv, { command: 'train', values: VALUES, booleans: ['resume', 'cache'] });
    const config = modelConfigFromArgs(args);
    const datasetName = stringFlag(args, 'dataset');
    if (!datasetName) throw new UserError('train: --dataset is required (e.g. fashion-mnist, or toy)');
    const epochs = intFlag(args, 'epochs', 5, { min: 1 });
    const seed = intFlag(args, 'seed', 0, { min: 0 });
    const limit = args.flags.limit !== undefined ? intFlag(args, 'limit', 0, { min: 1 }) : undefined;
    const valLimit = args.flags['val-limit'] !== undefined ? intFlag(args, 'val-limit', 0, { min: 1 }) : limit;
    const checkpoint = stringFlag(args, 'checkpoint');
    const resume = args.flags.resume === true;
    if (resume && !checkpoint) throw new UserError('train: --resume needs --checkpoint DIR');
    const useCache = args.flags.cache === true;
    if (useCache && checkpoint) throw new UserError('train: --cache keeps its own checkpoints; drop --checkpoint');
    const optType = stringFlag(args, 'optimizer', 'adam');
    if (optType !== 'adam' && optType !== 'sgd') throw new UserError(`--optimizer expects adam or sgd, found "${optType}"`);
    const scheduleType = stringFlag(args, 'schedule', 'constant');
    const warmupEpochs = intFlag(args, 'warmup', 0, { min: 0 });
    let schedule: import('../train').ScheduleConfig;
    if (scheduleType === 'constant') schedule = { type: 'constant', warmupEpochs };
    else if (scheduleType === 'step')
      schedule = {
        type: 'step',
        stepEpochs: intFlag(args, 'step-epochs', Math.max(1, Math.floor(epochs / 3)), { min: 1 }),
        gamma: numberFlag(args, 'gamma', 0.1),
        warmupEpochs,
      };
    else if (scheduleType === 'cosine') schedule = { type: 'cosine', warmupEpochs };
    else throw new UserError(`--schedule expects constant, step or cosine, found "${scheduleType}"`);
    const shift = intFlag(args, 'augment-shift', 0, { min: 0 });

    const { initEngine } = await import('../engine');
    const engine = await initEngine({ backend: stringFlag(args, 'backend') });
    const tf = await import('@tensorflow/tfjs');
    const models = await import('../models');
    const trainLib = await import('../train');
    const { DEFAULT_OPTIMIZER } = trainLib;
    const base = DEFAULT_OPTIMIZER[optType];
    const optimizer = {
      ...base,
      lr: numberFlag(args, 'lr', base.lr),
      ...(args.flags.momentum !== undefined ? { momentum: numberFlag(args, 'momentum', 0.9) } : {}),
      weightDecay: numberFlag(args, 'weight-decay', base.weightDecay ?? 0),
    };
    const data = await loadTrainData(datasetName, { data: stringFlag(args, 'data'), seed, limit, valLimit });
    const trainOptions = {
      epochs,
      batchSize: intFlag(args, 'batch-size', 32, { min: 1 }),
      optimizer,
      schedule,
      topK: intFlag(args, 'top-k', 5, { min: 1 }),
    };
    const augment = shift > 0 ? { fn: trainLib.randomTranslate(shift), key: `translate-${shift}` } : undefined;
    const name = models.modelName(config);
    const key = trainLib.runKey({ config, data, train: trainOptions, seed, augment });
    // Checkpoints may be extended to more epochs unless the schedule depends on the total (cosine).
    const { epochs: _epochs, ...withoutEpochs } = trainOptions;
    const resumeKey =
      schedule.type === 'cosine' ? key : trainLib.runKey({ config, data, train: withoutEpochs as typeof trainOptions, seed, augment });

    let model: import('@tensorflow/tfjs').LayersModel;
    let result: import('../train').TrainResult;
    let cacheDir: string | null = null;
    let fromCache = false;
    const t0 = Date.now();
    if (useCache) {
      const cached = await trainLib.trainCached({ config, data, train: trainOptions, seed, augment, name });
      model = cached.model;
      result = cached.result;
      cacheDir = cached.dir;
      fromCache = cached.fromCache;
    } else {
      model = trainLib.buildFor(config, data.train, seed);
      result = await trainLib.train(model, data, {
        ...trainOptions,
        seed,
        augment: augment?.fn,
        checkpointDir: checkpoint,
        resume,
        runKey: resumeKey,
        progress: name,
      });
    }
    const saveDir = stringFlag(args, 'save');
    if (saveDir) await models.saveModel(model, path.resolve(saveDir), { tessera: { key, config } });
    const h = result.history;
    const summary = {
      model: name,
      config,
      dataset: datasetName,
      train_size: data.train.size,
      val_size: data.val.size,
      image_shape: data.train.imageShape,
      params: models.countParams(model),
      receptive_field: (() => {
        const rf = models.receptiveField(model, config.family === 'bagnet' ? 'patch_logits' : 'features');
        return { size: rf.y.size, jump: rf.y.jump };
      })(),
      epochs,
      seed,
      backend: tf.getBackend(),
      engine: engine.detail,
      threads: engine.threads,
      val_accuracy: result.valAccuracy,
      val_top_k: result.valTopK,
      k: result.k,
      per_class_accuracy: result.valPerClass,
      losses: h.map((r) => r.trainLoss),
      train_accuracies: h.map((r) => r.trainAccuracy),
      val_losses: h.map((r) => r.valLoss),
      val_accuracies: h.map((r) => r.valAccuracy),
      seconds_per_epoch: h.map((r) => r.seconds),
      images_per_second: h.length ? h[h.length - 1].imagesPerSecond : null,
      resumed_from: result.resumedFrom,
      checkpoint: checkpoint ?? null,
      cache: cacheDir,
      from_cache: fromCache,
      saved: saveDir ?? null,
      key,
      wall_seconds: (Date.now() - t0) / 1000,
    };
    console.log(JSON.stringify(summary));
    return 0;
  },
};

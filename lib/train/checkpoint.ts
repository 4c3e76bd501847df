import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { writeDirAtomic } from '../util/atomic';
import type { OptimizerState } from './optim';

/**
 * Training checkpoints: one directory per completed epoch, `<dir>/epoch-0003/`, built under a temporary name and
 * renamed into place (so a kill never leaves a half-written one), then older epochs are removed. Each holds
 * - weights.bin: every model weight (trainable and not, e.g. BatchNorm statistics) as float32, in model.weights order;
 * - optimizer.bin: the optimiser's slots, float32;
 * - state.json: epoch, optimiser step, RNG state, the history so far, shapes, and the run key that must match on resume.
 */
export interface CheckpointState<H = unknown> {
  /** Number of completed epochs. */
  epoch: number;
  rng: number[];
  history: H[];
  optimizer: OptimizerState;
  /** Identifies the run (config, data, seed); a resume with another key is refused. */
  runKey: string;
}

interface StateJson<H> {
  version: 1;
  epoch: number;
  rng: number[];
  history: H[];
  runKey: string;
  optimizerStep: number;
  weightShapes: { name: string; shape: number[] }[];
  slotSizes: number[];
}

const PREFIX = 'epoch-';

function concatFloat32(arrays: Float32Array[]): Uint8Array {
  const total = arrays.reduce((a, b) => a + b.length, 0);
  const out = new Float32Array(total);
  let off = 0;
  for (const a of arrays) {
    out.set(a, off);
    off += a.length;
  }
  return new Uint8Array(out.buffer);
}

function readFloat32(file: string): Float32Array {
  const buf = fs.readFileSync(file);
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return new Float32Array(copy.buffer);
}

/** Writes the checkpoint of a completed epoch and removes older ones. */
export async function saveCheckpoint<H>(dir: string, model: tf.LayersModel, state: CheckpointState<H>): Promise<string> {
  const target = path.join(dir, `${PREFIX}${String(state.epoch).padStart(4, '0')}`);
  const weights = model.weights.map((w) => w.read().dataSync() as Float32Array);
  await writeDirAtomic(target, (tmp) => {
    fs.writeFileSync(path.join(tmp, 'weights.bin'), concatFloat32(weights));
    fs.writeFileSync(path.join(tmp, 'optimizer.bin'), concatFloat32(state.optimizer.slots));
    const json: StateJson<H> = {
      version: 1,
      epoch: state.epoch,
      rng: state.rng,
      history: state.history,
      runKey: state.runKey,
      optimizerStep: state.optimizer.step,
      weightShapes: model.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[] })),
      slotSizes: state.optimizer.slots.map((s) => s.length),
    };
    // state.json last: a directory is complete when it has one (the rename makes that moot, but it is cheap).
    fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify(json));
  });
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith(PREFIX) && /^epoch-\d+$/.test(name) && path.join(dir, name) !== target)
      fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    if (/^epoch-\d+\.\d+\.\d+\.tmp$/.test(name)) {
      // Leftover of a killed writer (other pid): remove.
      const pid = Number(name.split('.')[1]);
      if (pid !== process.pid) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    }
  }
  return target;
}

/** The latest complete checkpoint in `dir`, or null. */
export function latestCheckpoint(dir: string): string | null {
  if (!fs.existsSync(dir)) return null;
  const epochs = fs
    .readdirSync(dir)
    .filter((n) => /^epoch-\d+$/.test(n) && fs.existsSync(path.join(dir, n, 'state.json')))
    .sort();
  return epochs.length ? path.join(dir, epochs[epochs.length - 1]) : null;
}

/** Restores model weights from a checkpoint directory and returns the rest of its state. */
export function loadCheckpoint<H>(ckptDir: string, model: tf.LayersModel): CheckpointState<H> {
  const json = JSON.parse(fs.readFileSync(path.join(ckptDir, 'state.json'), 'utf8')) as StateJson<H>;
  const flat = readFloat32(path.join(ckptDir, 'weights.bin'));
  if (json.weightShapes.length !== model.weights.length) {
    throw new Error(
      `checkpoint ${ckptDir} holds ${json.weightShapes.length} weights, the model has ${model.weights.length}: a different architecture`,
    );
  }
  let off = 0;
  const tensors = model.weights.map((w, i) => {
    const size = w.shape.reduce((a, b) => (a as number) * (b as number), 1) as number;
    const saved = json.weightShapes[i].shape.reduce((a, b) => a * b, 1);
    if (saved !== size)
      throw new Error(`checkpoint ${ckptDir}: weight ${i} (${w.originalName}) has ${saved} values, the model needs ${size}`);
    const t = tf.tensor(flat.subarray(off, off + size), w.shape as number[]);
    off += size;
    return t;
  });
  model.setWeights(tensors);
  tf.dispose(tensors);
  const slotsFlat = readFloat32(path.join(ckptDir, 'optimizer.bin'));
  const slots: Float32Array[] = [];
  off = 0;
  for (const n of json.slotSizes) {
    slots.push(slotsFlat.slice(off, off + n));
    off += n;
  }
  return { epoch: json.epoch, rng: json.rng, history: json.history, runKey: json.runKey, optimizer: { step: json.optimizerStep, slots } };
}

import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import { UserError } from '../util/errors';
import { info } from '../util/progress';
import { registerWasmTrainingKernels } from './wasm-kernels';
import { fuseLayersBatchNorm } from './batchnorm';
import { fuseLayersConv } from './conv-fusion';
import { fuseLayersPredict } from './predict';
import { fuseAdam } from './adam';
import { fuseLayersCrop } from './crop';

export { batchNormTraining, fuseLayersBatchNorm } from './batchnorm';
export { convBiasActivation, fuseLayersConv } from './conv-fusion';
export { fuseLayersPredict, predictWithPlan, PREDICT_BATCH } from './predict';
export { adamStep, fuseAdam } from './adam';
export { fuseLayersCrop } from './crop';

/** Which TensorFlow.js backend runs, with how many threads, and a short description. */
export interface EngineInfo {
  backend: string;
  threads: number;
  detail: string;
}

/**
 * The backends Tessera can run on, fastest first. `load` registers the backend with tfjs (or returns a reason why
 * it cannot) and `detail` describes it.
 */
interface Candidate {
  name: string;
  load(forced: boolean): Promise<string | null>; // null when loaded, else why not
  threads(): number;
  detail(): string;
}

/** Loads a package only if it is the real one (danfojs-node's override aliases @tensorflow/tfjs-node to tfjs). */
function requireRealPackage(name: string): string | null {
  let pkg: { name?: string };
  try {
    pkg = require(`${name}/package.json`);
  } catch {
    return `${name} is not installed`;
  }
  if (pkg.name !== name) return `${name} is not installed (found an alias of ${pkg.name})`;
  try {
    require(name);
    return null;
  } catch (err) {
    return `${name} failed to load: ${(err as Error).message.split('\n')[0]}`;
  }
}

/** The parts of packages/tfjs-backend-torch (plain JS) the engine uses. */
interface TorchPackage {
  isAvailable(): boolean;
  unavailableReason(): string | null;
  /** Why TFJS_TORCH_DEVICE's device cannot be used (null when it can, or when none is asked for). */
  deviceProblem(): string | null;
  info(): { version: string; mkldnn: boolean; cuda: boolean } | null;
}

/** Hardware checks, a seam so that tests can stand in for a GPU that is (not) there. */
export const gpuProbe = {
  /** Whether an NVIDIA GPU is visible (its driver's device or proc file). */
  visible: (): boolean => fs.existsSync('/dev/nvidiactl') || fs.existsSync('/proc/driver/nvidia/version'),
};

const CANDIDATES: Candidate[] = [
  {
    name: 'tensorflow-gpu',
    async load(forced) {
      if (!gpuProbe.visible()) {
        // Forced, tfjs-node-gpu would run on the CPU without a GPU: say so instead.
        if (forced)
          throw new UserError(
            'backend tensorflow-gpu (tfjs-node-gpu) asks for a CUDA GPU, but no NVIDIA GPU is visible ' +
              '(no /dev/nvidiactl or /proc/driver/nvidia/version); unset TESSERA_BACKEND to pick the fastest backend that loads',
          );
        return 'no NVIDIA GPU visible';
      }
      return requireRealPackage('@tensorflow/tfjs-node-gpu');
    },
    threads: () => os.cpus().length,
    detail: () => 'tfjs-node-gpu (libtensorflow with CUDA)',
  },
  {
    name: 'torch',
    async load() {
      let torch: TorchPackage;
      try {
        torch = require('tfjs-backend-torch');
      } catch (err) {
        return `tfjs-backend-torch failed to load: ${(err as Error).message.split('\n')[0]}`;
      }
      // A CUDA device asked for and not there is an error, not a reason to run on the CPU or another backend.
      const deviceProblem = torch.deviceProblem();
      if (deviceProblem) throw new UserError(deviceProblem);
      if (!torch.isAvailable()) return torch.unavailableReason();
      // tfjs-layers' batch norm and conv+bias+relu train through fused ATen kernels on this backend; predict runs a
      // compiled inference plan.
      fuseLayersBatchNorm();
      fuseLayersConv();
      fuseLayersPredict();
      fuseAdam();
      fuseLayersCrop();
      return null;
    },
    threads: () => (tf.backend() as unknown as { getThreads(): number }).getThreads(),
    detail: () => {
      const info = (require('tfjs-backend-torch') as TorchPackage).info();
      return `libtorch ${info?.version ?? '?'} via tfjs-backend-torch${info?.mkldnn ? ', oneDNN' : ''}${info?.cuda ? ', CUDA' : ''}`;
    },
  },
  {
    name: 'tensorflow',
    async load() {
      return requireRealPackage('@tensorflow/tfjs-node');
    },
    threads: () => os.cpus().length,
    detail: () => 'tfjs-node (libtensorflow)',
  },
  {
    name: 'wasm',
    async load() {
      try {
        require('@tensorflow/tfjs-backend-wasm');
        registerWasmTrainingKernels();
        return null;
      } catch (err) {
        return `@tensorflow/tfjs-backend-wasm failed to load: ${(err as Error).message}`;
      }
    },
    threads: () => 1,
    detail: () => 'tfjs-backend-wasm (single-threaded, SIMD)',
  },
  {
    name: 'cpu',
    async load() {
      return null;
    },
    threads: () => 1,
    detail: () => 'tfjs pure-JS cpu backend (slow: fine for inference on small inputs, not for training)',
  },
];

/** tfjs registers tfjs-node(-gpu) under the name 'tensorflow' either way. */
function tfName(candidate: Candidate): string {
  return candidate.name === 'tensorflow-gpu' ? 'tensorflow' : candidate.name;
}

let current: EngineInfo | null = null;

/**
 * Picks and initialises the fastest backend that loads: tfjs-node-gpu (with a GPU), torch, tfjs-node, wasm, cpu.
 * `TESSERA_BACKEND=<name>` (or opts.backend) forces one; a forced backend that cannot load is an error.
 * Idempotent: later calls return the backend chosen first (unless a different one is forced).
 */
export async function initEngine(opts: { backend?: string; quiet?: boolean } = {}): Promise<EngineInfo> {
  const forced = opts.backend ?? process.env.TESSERA_BACKEND;
  if (current && (!forced || forced === current.backend)) return current;
  const names = CANDIDATES.map((c) => c.name);
  if (forced && !names.includes(forced)) {
    throw new UserError(`unknown backend "${forced}" (TESSERA_BACKEND or --backend); expected one of ${names.join(', ')}`);
  }
  const reasons: string[] = [];
  for (const candidate of CANDIDATES) {
    if (forced && candidate.name !== forced) continue;
    const why = await candidate.load(!!forced);
    if (why === null && (await tf.setBackend(tfName(candidate)))) {
      await tf.ready();
      current = { backend: candidate.name, threads: candidate.threads(), detail: candidate.detail() };
      if (!opts.quiet) info(describeEngine(current));
      return current;
    }
    reasons.push(`${candidate.name}: ${why ?? 'tf.setBackend failed'}`);
  }
  throw new UserError(
    `backend "${forced}" is not available here (${reasons.join('; ')}); unset TESSERA_BACKEND to pick the fastest that loads`,
  );
}

/** One line naming the backend, e.g. "engine: backend wasm, 1 thread (tfjs-backend-wasm ...)". */
export function describeEngine(info: EngineInfo): string {
  return `engine: backend ${info.backend}, ${info.threads} thread${info.threads === 1 ? '' : 's'} (${info.detail})`;
}

/** The engine chosen so far, if any. */
export function currentEngine(): EngineInfo | null {
  return current;
}

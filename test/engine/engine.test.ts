/** Backend selection: the fastest available backend, forced backends, and the one-line description. */
import * as tf from '@tensorflow/tfjs';
import { describeEngine, gpuProbe, initEngine } from '../../lib/engine';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const torch = require('tfjs-backend-torch');

// Before any backend is initialised (initEngine keeps the first backend it picks).
describe('a GPU asked for and not there', () => {
  it('the torch package names the problem of a requested CUDA device (CUDA check stubbed)', () => {
    expect(torch.deviceProblem({})).toBeNull();
    expect(torch.deviceProblem({ TFJS_TORCH_DEVICE: 'cpu' }, () => false)).toBeNull();
    expect(torch.deviceProblem({ TFJS_TORCH_DEVICE: 'cuda' }, () => true)).toBeNull();
    expect(torch.deviceProblem({ TFJS_TORCH_DEVICE: 'cuda:1' }, () => false)).toMatch(
      /TFJS_TORCH_DEVICE=cuda:1 asks for a CUDA GPU, but .*Unset TFJS_TORCH_DEVICE to run on the CPU/,
    );
    expect(torch.deviceProblem({ TFJS_TORCH_DEVICE: 'tpu' }, () => true)).toMatch(/expected cpu, cuda or cuda:N/);
  });

  it('TFJS_TORCH_DEVICE=cuda without CUDA is one clear error, not a run on the CPU or on another backend', async () => {
    const before = tf.getBackend();
    process.env.TFJS_TORCH_DEVICE = 'cuda';
    try {
      expect(torch.info()?.cuda ?? false).toBe(false); // this machine: Debian's CPU-only libtorch, no GPU
      await expect(initEngine({ quiet: true })).rejects.toThrow(/TFJS_TORCH_DEVICE=cuda asks for a CUDA GPU/);
      await expect(initEngine({ backend: 'torch', quiet: true })).rejects.toThrow(/TFJS_TORCH_DEVICE=cuda asks for a CUDA GPU/);
      expect(tf.getBackend()).toBe(before);
    } finally {
      delete process.env.TFJS_TORCH_DEVICE;
    }
  });

  it('a forced tfjs-node-gpu without a visible GPU is an error (GPU check stubbed both ways)', async () => {
    const visible = gpuProbe.visible;
    try {
      gpuProbe.visible = () => false;
      await expect(initEngine({ backend: 'tensorflow-gpu', quiet: true })).rejects.toThrow(
        /asks for a CUDA GPU, but no NVIDIA GPU is visible/,
      );
      gpuProbe.visible = () => true; // a GPU, but no tfjs-node-gpu installed here: that is the error then
      await expect(initEngine({ backend: 'tensorflow-gpu', quiet: true })).rejects.toThrow(/tfjs-node-gpu is not installed/);
    } finally {
      gpuProbe.visible = visible;
    }
  });
});

describe('initEngine', () => {
  it('picks torch when libtorch is available (else wasm) and says so in one line', async () => {
    const info = await initEngine({ quiet: true });
    expect(info.backend).toBe(torch.isAvailable() ? 'torch' : 'wasm');
    expect(tf.getBackend()).toBe(info.backend);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    const line = describeEngine(info);
    expect(line).toContain(`backend ${info.backend}`);
    expect(line.split('\n')).toHaveLength(1);
  });

  it('rejects an unknown forced backend with the list of names', async () => {
    await expect(initEngine({ backend: 'tpu', quiet: true })).rejects.toThrow(/unknown backend "tpu".*torch/);
  });

  it('errors clearly when a forced backend cannot load', async () => {
    await expect(initEngine({ backend: 'tensorflow', quiet: true })).rejects.toThrow(/not available here/);
  });

  it('can force the cpu backend', async () => {
    const info = await initEngine({ backend: 'cpu', quiet: true });
    expect(info.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });
});

describe('without libtorch', () => {
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const root = require('path').join(__dirname, '..', '..') as string;

  it('the addon build succeeds and says the backend is unavailable', () => {
    const r = spawnSync(process.execPath, ['packages/tfjs-backend-torch/scripts/build.js'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, TFJS_TORCH_SEARCH: 'none' },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/libtorch not found; backend unavailable/);
  });

  it('the engine falls back to wasm and the torch package explains why', () => {
    const code = `require('./bin/register.js');
      const t = require('tfjs-backend-torch');
      require('./lib/engine').initEngine({ quiet: true }).then((i) =>
        console.log(JSON.stringify({ backend: i.backend, available: t.isAvailable(), reason: t.unavailableReason() })));`;
    const r = spawnSync(process.execPath, ['-e', code], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, TFJS_TORCH_ADDON: '/nonexistent/torch_addon.node', TESSERA_BACKEND: '' },
    });
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    expect(out.backend).toBe('wasm');
    expect(out.available).toBe(false);
    expect(out.reason).toMatch(/apt-get install libtorch-dev/);
  });
});

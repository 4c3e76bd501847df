/** `tessera bench`'s report: PyTorch's better format, ratios against it, GFLOP/s and fractions of the limit. */
import * as fs from 'fs';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { bestFormat, formatBenchTable, netReport, pairedRatio, type BenchResult } from '../../lib/engine/bench';
import { TORCH_MALLOC, TorchWorker } from '../../lib/engine/torch-worker';
import type { ModelFlops } from '../../lib/engine/flops';

const flops: ModelFlops = { forward: 10e6, train: 30e6, layers: [] };
const limit = { matmul_gflops: 50, conv_gflops: 100, gflops: 100 };
const speed = (train_ips: number, infer_ips: number, train_cpu_ips: number, infer_cpu_ips: number) => ({
  train_ips,
  infer_ips,
  train_cpu_ips,
  infer_cpu_ips,
});
const torch = { nchw: speed(400, 1000, 300, 400), channels_last: speed(500, 800, 200, 500) };

describe('bench report', () => {
  it('takes the better PyTorch format for training and for inference separately', () => {
    expect(bestFormat(torch)).toEqual({
      ...speed(500, 1000, 300, 500),
      train_format: 'channels_last',
      infer_format: 'nchw',
    });
  });

  it('computes ratios against the better format and GFLOP/s as a fraction of the limit', () => {
    const r = netReport(speed(1000, 4000, 600, 1000), flops, limit, torch);
    // 1000 img/s x 30 MFLOP = 30 GFLOP/s = 0.3 of 100; 4000 x 10 MFLOP = 40 GFLOP/s.
    expect(r.gflops).toEqual({ train: 30, infer: 40 });
    expect(r.limit_fraction).toEqual({ train: 0.3, infer: 0.4 });
    expect(r.ratio).toEqual({ train: 2, infer: 4 });
    expect(r.cpu_ratio).toEqual({ train: 2, infer: 2 }); // 600 / 300 and 1000 / 500
    expect(r.flops).toEqual({ train: 30e6, infer: 10e6 });
    expect(netReport(speed(1, 1, 1, 1), flops, limit).ratio).toBeUndefined();
  });

  const runs = (...ips: number[]) => ips.map((v) => ({ ips: v, cpu_ips: v / 2 }));

  it('pairs runs by round: geometric mean of the ratios, PyTorch in its better format over the rounds', () => {
    // nchw's best run (300) is higher, but channels_last is faster over the rounds (geometric mean 100 against 54.8).
    const p = pairedRatio(runs(200, 100), { nchw: runs(300, 10), channels_last: runs(100, 100) });
    expect(p.format).toBe('channels_last');
    expect(p.rounds).toBe(2);
    // Ratios 2 and 1: geometric mean sqrt(2); resampling two rounds gives 1, sqrt(2) or 2, each extreme 1/4 of the time.
    expect(p.wall).toEqual({ ratio: 1.414, low: 1, high: 2 });
    expect(p.cpu).toEqual(p.wall);
    expect(p.floor).toBe('inconclusive');
  });

  it('holds only when the whole interval is above 1.0, fails when it is below', () => {
    const torch = { nchw: runs(10, 10, 10), channels_last: runs(100, 200, 50) };
    const holds = pairedRatio(runs(150, 300, 75), torch);
    expect(holds.wall).toEqual({ ratio: 1.5, low: 1.5, high: 1.5 });
    expect(holds.floor).toBe('holds');
    expect(pairedRatio(runs(80, 160, 40), torch).floor).toBe('fails');
    expect(pairedRatio(runs(100, 200, 50), torch).floor).toBe('fails'); // exactly 1.0 is not above it
    expect(() => pairedRatio(runs(1, 2), torch)).toThrow(/one run a round; found 2 engine runs and 3 nchw, 3 channels_last/);
  });

  it('prints one table row per net and step with both formats, the ratios and the fraction', () => {
    const result: BenchResult = {
      backend: 'torch',
      threads: 2,
      engine: 'engine: backend torch, 2 threads',
      batch: 64,
      reps: 3,
      rounds: 2,
      limit,
      nets: {
        reference: netReport(speed(1000, 4000, 600, 1000), flops, limit, torch, {
          train: pairedRatio(runs(200, 100), { nchw: runs(300, 10), channels_last: runs(100, 100) }),
          infer: pairedRatio(runs(150, 300, 75), { nchw: runs(10, 10, 10), channels_last: runs(100, 200, 50) }),
        }),
      },
      pytorch: { version: '1.13', threads: 2, malloc: 'glibc.malloc.trim_threshold=1' },
      load: { before: 1.5, after: 2 },
      seconds: 10,
    };
    const table = formatBenchTable(result);
    expect(table).toContain(
      '| reference | train | 1000 | 400 | 500 | 2.00x | 1.41x [1.00, 2.00] | 1.41x [1.00, 2.00] | inconclusive | 30.0 | 30.0 | 30.0% |',
    );
    expect(table).toContain(
      '| reference | infer | 4000 | 1000 | 800 | 4.00x | 1.50x [1.50, 1.50] | 1.50x [1.50, 1.50] | holds | 10.0 | 40.0 | 40.0% |',
    );
    expect(table).toContain('load 1.5 -> 2');
    expect(table).toContain('PyTorch 1.13, 2 threads, GLIBC_TUNABLES=glibc.malloc.trim_threshold=1');
    expect(table).toContain('matmul 50 GFLOP/s, conv 100 GFLOP/s');
  });
});

describe('PyTorch worker', () => {
  const withPython = async (python: string) => {
    const before = process.env.TESSERA_PYTHON;
    process.env.TESSERA_PYTHON = python;
    try {
      return await TorchWorker.start(1, 8);
    } finally {
      if (before === undefined) delete process.env.TESSERA_PYTHON;
      else process.env.TESSERA_PYTHON = before;
    }
  };

  it('says what to install when the python is missing or answers nothing', async () => {
    expect(await withPython('/nonexistent/python3')).toBe(
      '/nonexistent/python3 not found; install python3-torch for the PyTorch comparison',
    );
    expect(await withPython('/bin/false')).toMatch(
      /^PyTorch comparison skipped: \/bin\/false bench_torch.py failed \(no output\); apt-get install python3-torch$/,
    );
  });
});

const python = process.env.TESSERA_PYTHON || '/usr/bin/python3';
const hasTorch = fs.existsSync(python) && spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

(hasTorch ? describe : describe.skip)('bench_torch.py', () => {
  it('reports every net in both memory formats', () => {
    const script = path.join(__dirname, '..', '..', 'lib', 'engine', 'bench_torch.py');
    const r = spawnSync(python, [script, '--nets', 'reference', '--reps', '1', '--threads', '1', '--batch', '8'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    for (const f of ['nchw', 'channels_last'])
      for (const k of ['train_ips', 'infer_ips', 'train_cpu_ips', 'infer_cpu_ips']) expect(out.nets.reference[f][k]).toBeGreaterThan(0);
  }, 120_000);

  it('serves one timed run a request, and answers a bad request with its error', async () => {
    const worker = await TorchWorker.start(1, 8);
    if (typeof worker === 'string') throw new Error(worker);
    try {
      expect(worker.threads).toBe(1);
      // PyTorch's best configuration here: glibc keeps freed memory (unless the user set GLIBC_TUNABLES).
      expect(worker.malloc).toBe(process.env.GLIBC_TUNABLES || TORCH_MALLOC);
      for (const step of ['train', 'infer'] as const) {
        const r = await worker.run({ net: 'reference', format: 'channels_last', step, steps: 2, reps: 1 });
        expect(r.ips).toBeGreaterThan(0);
        expect(r.cpu_ips).toBeGreaterThan(0);
      }
      await expect(worker.run({ net: 'resnet', format: 'nchw', step: 'train', steps: 2, reps: 1 })).rejects.toThrow(
        /PyTorch failed on resnet nchw train: ValueError: unknown net 'resnet'; expected reference, conv64, bagnet or antialiased/,
      );
    } finally {
      worker.stop();
    }
  }, 120_000);
});

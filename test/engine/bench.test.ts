/** `tessera bench`'s report: PyTorch's better format, ratios against it, GFLOP/s and fractions of the limit. */
import * as fs from 'fs';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { bestFormat, formatBenchTable, netReport, type BenchResult } from '../../lib/engine/bench';
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

  it('prints one table row per net and step with both formats, the ratio and the fraction', () => {
    const result: BenchResult = {
      backend: 'torch',
      threads: 2,
      engine: 'engine: backend torch, 2 threads',
      batch: 64,
      reps: 3,
      rounds: 2,
      limit,
      nets: { reference: netReport(speed(1000, 4000, 600, 1000), flops, limit, torch) },
      pytorch: { version: '1.13', threads: 2 },
      load: { before: 1.5, after: 2 },
      seconds: 10,
    };
    const table = formatBenchTable(result);
    expect(table).toContain('| reference | train | 1000 | 400 | 500 | 2.00x | 2.00x | 30.0 | 30.0 | 30.0% |');
    expect(table).toContain('| reference | infer | 4000 | 1000 | 800 | 4.00x | 2.00x | 10.0 | 40.0 | 40.0% |');
    expect(table).toContain('load 1.5 -> 2');
    expect(table).toContain('matmul 50 GFLOP/s, conv 100 GFLOP/s');
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
});

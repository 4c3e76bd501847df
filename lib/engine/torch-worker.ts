/**
 * PyTorch's side of `tessera bench` as a long-lived worker (bench_torch.py --serve): one timed run per request, so the
 * bench can alternate the engine and PyTorch run by run and compare runs made seconds apart on the same machine.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';

/** One timed run: images per second of wall time and per CPU-second of the process. */
export interface RunSpeed {
  ips: number;
  cpu_ips: number;
}

export interface TorchRequest {
  net: string;
  format: 'nchw' | 'channels_last';
  step: 'train' | 'infer';
  steps: number;
  reps: number;
}

/**
 * glibc malloc settings for PyTorch's worker, unless GLIBC_TUNABLES is set: PyTorch allocates its tensors with plain
 * malloc, and glibc's defaults (a dynamic mmap threshold, freed heap returned to the system above 128 KB) make it map
 * fresh pages for many activations on every step. Where page faults are dear (virtual machines such as this project's),
 * that cost PyTorch 2-5x (measured on an AMD EPYC VM: BagNet training 58-70 -> 296-351 img/s, conv64 inference
 * 190-213 -> 526-1479). Its best configuration keeps freed memory: the mmap threshold at glibc's maximum (32 MB) and
 * no trimming. The engine has its own caching allocator for large blocks.
 */
export const TORCH_MALLOC = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296';

/** The python that runs PyTorch: $TESSERA_PYTHON, else Debian's /usr/bin/python3 (python3-torch). */
export const torchPython = (): string => process.env.TESSERA_PYTHON || '/usr/bin/python3';

export class TorchWorker {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    private readonly stderr: string[],
    readonly version: string,
    readonly threads: number,
    /** The GLIBC_TUNABLES the worker runs with. */
    readonly malloc: string,
  ) {}

  /** Starts the worker; an error string (what failed and what to install) when python or torch is missing. */
  static async start(threads: number, batch: number): Promise<TorchWorker | string> {
    const python = torchPython();
    if (!fs.existsSync(python)) return `${python} not found; install python3-torch for the PyTorch comparison`;
    const script = path.join(__dirname, 'bench_torch.py');
    const malloc = process.env.GLIBC_TUNABLES || TORCH_MALLOC;
    const child = spawn(python, [script, '--serve', '--threads', String(threads), '--batch', String(batch)], {
      // Passive: PyTorch's OpenMP threads sleep between requests instead of spinning on the cores the engine is using.
      env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY || 'passive', GLIBC_TUNABLES: malloc },
    });
    const stderr: string[] = [];
    child.stderr.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
    // A worker that exits makes writes fail (EPIPE) after the fact; run() reports it from the closed output instead.
    child.stdin.on('error', () => undefined);
    const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) {
      const why = stderr.join('').trim().split('\n').slice(-1)[0] || 'no output';
      return `PyTorch comparison skipped: ${python} ${path.basename(script)} failed (${why}); apt-get install python3-torch`;
    }
    const hello = JSON.parse(first.value) as { version: string; threads: number };
    return new TorchWorker(child, lines, stderr, hello.version, hello.threads, malloc);
  }

  /** One timed run (best of req.reps) of a net's step in a memory format. */
  async run(req: TorchRequest): Promise<RunSpeed> {
    this.child.stdin.write(JSON.stringify(req) + '\n');
    const line = await this.lines.next();
    if (line.done) throw new Error(`bench: the PyTorch worker exited (${this.stderr.join('').trim().split('\n').slice(-1)[0]})`);
    const out = JSON.parse(line.value) as RunSpeed & { error?: string };
    if (out.error) throw new Error(`bench: PyTorch failed on ${req.net} ${req.format} ${req.step}: ${out.error}`);
    return { ips: out.ips, cpu_ips: out.cpu_ips };
  }

  stop(): void {
    this.child.stdin.end();
  }
}

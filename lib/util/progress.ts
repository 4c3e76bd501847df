/**
 * Progress for long loops: a redrawn bar on a terminal, a live line (carriage returns, which Jupyter collapses) in
 * a notebook, and a few plain lines in logs. Output goes to stderr on a terminal or in logs, to stdout in a notebook
 * (the kernel shows stdout as the cell's stream). `TESSERA_PROGRESS=0` silences it.
 */
export interface ProgressOptions {
  /** Seconds between redraws (default 0.2 on a terminal, 1 in a notebook). */
  interval?: number;
}

type Mode = 'tty' | 'notebook' | 'log' | 'off';

function detectMode(): Mode {
  if (process.env.TESSERA_PROGRESS === '0') return 'off';
  if (process.env.TESSERA_NOTEBOOK === '1') return 'notebook';
  if (process.stderr.isTTY) return 'tty';
  return 'log';
}

export class Progress {
  private done = 0;
  private readonly start = Date.now();
  private lastDraw = 0;
  private lastLoggedTenth = -1;
  private readonly mode: Mode;
  private readonly interval: number;
  private status = '';
  private finished = false;

  constructor(
    readonly label: string,
    readonly total: number,
    opts: ProgressOptions = {},
  ) {
    this.mode = detectMode();
    this.interval = (opts.interval ?? (this.mode === 'notebook' ? 1 : 0.2)) * 1000;
  }

  /** Advances by `n` steps; `status` is a short text shown after the bar (e.g. "loss 0.41"). */
  tick(n = 1, status?: string): void {
    this.done = Math.min(this.total, this.done + n);
    if (status !== undefined) this.status = status;
    const now = Date.now();
    if (now - this.lastDraw >= this.interval || this.done === this.total) {
      this.lastDraw = now;
      this.draw(false);
    }
  }

  /** Ends the bar with a final line. */
  finish(status?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (status !== undefined) this.status = status;
    this.draw(true);
  }

  /** The text of the current line, without control characters (exposed for tests). */
  line(): string {
    const frac = this.total > 0 ? this.done / this.total : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const elapsed = (Date.now() - this.start) / 1000;
    const eta = frac > 0 && frac < 1 ? ` eta ${formatSeconds((elapsed / frac) * (1 - frac))}` : '';
    const status = this.status ? ` ${this.status}` : '';
    return `${this.label} [${bar}] ${this.done}/${this.total} ${formatSeconds(elapsed)}${eta}${status}`;
  }

  private draw(final: boolean): void {
    switch (this.mode) {
      case 'off':
        return;
      case 'tty':
        process.stderr.write(`\r\x1b[2K${this.line()}${final ? '\n' : ''}`);
        return;
      case 'notebook':
        process.stdout.write(`\r${this.line()}${final ? '\n' : ''}`);
        return;
      case 'log': {
        const tenth = this.total > 0 ? Math.floor((this.done / this.total) * 10) : 10;
        if (final || tenth > this.lastLoggedTenth) {
          this.lastLoggedTenth = tenth;
          if (final || tenth < 10) process.stderr.write(this.line() + '\n');
        }
        return;
      }
    }
  }
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return `${m}m${String(s).padStart(2, '0')}s`;
}

/** Runs `body` for each item with a progress bar. */
export async function withProgress<T>(label: string, items: readonly T[], body: (item: T, index: number) => Promise<void> | void): Promise<void> {
  const bar = new Progress(label, items.length);
  for (let i = 0; i < items.length; i++) {
    await body(items[i], i);
    bar.tick();
  }
  bar.finish();
}

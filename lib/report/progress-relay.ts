import * as fs from 'fs';
import { formatBar, formatSeconds, ProgressEvent } from '../util/progress';

/** Wall time of one notebook cell, from the side channel's cell events (results.json provenance `steps`). */
export interface CellTime {
  /** 1-based among the notebook's code cells. */
  cell: number;
  /** The cell's first source line. */
  source: string;
  seconds: number;
}

export interface RelayOptions {
  /** The side-channel file the kernel appends ProgressEvents to (TESSERA_PROGRESS_FILE). */
  file: string;
  /** Shown before every line, e.g. the study's name. */
  tag: string;
  /** Where lines go (default stderr). */
  write?: (text: string) => void;
  /** Redraw one status line in place (a terminal) or print plain lines (logs). Default: stderr.isTTY. */
  tty?: boolean;
  /** Columns of the terminal; status lines are cut to fit (default stderr.columns or 120). */
  columns?: number;
  /** Seconds a previous run of the same study and scale took, for a rough estimate of what remains. */
  expectedSeconds?: number;
  /** Milliseconds between reads of the file (default 250). */
  pollMs?: number;
}

/**
 * Shows on the runner's terminal the progress a notebook kernel writes to its side channel (lib/util/progress.ts):
 * on a terminal one status line redrawn in place (study, elapsed time, what remains by the previous run, cell k of n,
 * the live bar) with finished loops and notes printed above it; in logs plain lines at every tenth of a loop. Reads the
 * file by polling from the last offset, so it works whatever process writes it (nbconvert's kernel or tslab's
 * executor) and never blocks the writer.
 */
export class ProgressRelay {
  private offset = 0;
  private partial = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();
  private bar: (ProgressEvent & { kind: 'bar' }) | null = null;
  private cell: { index: number; of: number; source: string; at: number } | null = null;
  private readonly cells: CellTime[] = [];
  private readonly loggedTenth = new Map<string, number>();
  /** The status line on screen ('' when none), so that an unchanged line is not redrawn. */
  private shown = '';
  private readonly write: (text: string) => void;
  private readonly tty: boolean;

  constructor(private readonly opts: RelayOptions) {
    this.write = opts.write ?? ((text) => process.stderr.write(text));
    this.tty = opts.tty ?? !!process.stderr.isTTY;
  }

  start(): this {
    this.timer = setInterval(() => this.poll(), this.opts.pollMs ?? 250);
    return this;
  }

  /** Reads what is left, clears the status line and returns the time of every cell that ran. */
  stop(): CellTime[] {
    clearInterval(this.timer);
    this.poll();
    this.closeCell();
    this.clearStatus();
    return this.cells.slice();
  }

  /** A line from elsewhere (e.g. the executor's own stderr), printed above the status line. */
  note(text: string): void {
    this.above(text);
  }

  /** Elapsed time and, when a previous run's time is known, a rough estimate of what remains. */
  clock(): string {
    const elapsed = Math.floor((Date.now() - this.started) / 1000);
    const expected = this.opts.expectedSeconds;
    const whole = (x: number) => (x < 60 ? `${Math.round(x)}s` : formatSeconds(x));
    if (expected === undefined) return whole(elapsed);
    const left = expected - elapsed;
    return left > 0 ? `${whole(elapsed)}, ~${whole(left)} left` : `${whole(elapsed)}, over the last run's ${whole(expected)}`;
  }

  /** Reads new complete lines from the file and handles them. */
  poll(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.opts.file, 'r');
    } catch {
      return; // not created yet
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size > this.offset) {
        const buf = Buffer.alloc(size - this.offset);
        fs.readSync(fd, buf, 0, buf.length, this.offset);
        this.offset = size;
        const text = this.partial + buf.toString('utf8');
        const lines = text.split('\n');
        this.partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) this.handle(line);
      }
    } finally {
      fs.closeSync(fd);
    }
    if (this.tty) this.drawStatus();
  }

  private handle(line: string): void {
    let event: ProgressEvent;
    try {
      event = JSON.parse(line) as ProgressEvent;
    } catch {
      this.above(line);
      return;
    }
    switch (event.kind) {
      case 'info':
        this.above(event.text);
        return;
      case 'cell':
        this.closeCell();
        this.cell = { index: event.index, of: event.of, source: event.source, at: event.at };
        this.bar = null;
        if (!this.tty) this.above(`cell ${event.index}/${event.of}: ${event.source}`);
        return;
      case 'bar':
        if (event.final) {
          this.bar = null;
          this.loggedTenth.delete(event.label);
          this.above(formatBar(event));
          return;
        }
        this.bar = event;
        if (!this.tty) {
          const tenth = event.total > 0 ? Math.floor((event.done / event.total) * 10) : 10;
          if (tenth > (this.loggedTenth.get(event.label) ?? -1) && tenth < 10) {
            this.loggedTenth.set(event.label, tenth);
            this.above(formatBar(event));
          }
        }
        return;
    }
  }

  private closeCell(): void {
    if (this.cell) this.cells.push({ cell: this.cell.index, source: this.cell.source, seconds: (Date.now() - this.cell.at) / 1000 });
    this.cell = null;
  }

  /** Prints a line, above the status line on a terminal; with the tag and elapsed time in logs. */
  private above(text: string): void {
    if (this.tty) {
      this.clearStatus();
      this.write(`  ${text}\n`);
      this.drawStatus();
    } else {
      this.write(`[${this.opts.tag} ${formatSeconds((Date.now() - this.started) / 1000)}] ${text}\n`);
    }
  }

  private drawStatus(): void {
    const cell = this.cell ? ` cell ${this.cell.index}/${this.cell.of}` : '';
    const bar = this.bar ? `: ${formatBar(this.bar)}` : this.cell ? `: ${this.cell.source}` : '';
    const columns = this.opts.columns ?? (process.stderr.columns || 120);
    const full = `[${this.opts.tag} ${this.clock()}]${cell}${bar}`;
    const line = full.length > columns - 1 ? full.slice(0, columns - 2) + '…' : full;
    if (line === this.shown) return;
    this.write(`\r\x1b[2K${line}`);
    this.shown = line;
  }

  private clearStatus(): void {
    if (!this.shown) return;
    this.write('\r\x1b[2K');
    this.shown = '';
  }
}

import * as fs from 'fs';

/**
 * Progress for long loops: a redrawn bar on a terminal, a live line (carriage returns) in a notebook, and a few plain
 * lines in logs. Output goes to stderr on a terminal or in logs, to stdout in a notebook (Jupyter shows stderr in a
 * red box). `TESSERA_PROGRESS=0` silences it.
 *
 * Side channel: when `TESSERA_PROGRESS_FILE` names a file (the notebook runner sets it for the kernel), every redraw,
 * finished loop and `info` line is also appended there as one JSON line (`ProgressEvent`), so that the process that
 * runs a notebook can show live progress on its own terminal while the kernel's outputs go into the notebook.
 */
export interface ProgressOptions {
  /** Seconds between redraws (default 0.2 on a terminal, 0.5 in a notebook). */
  interval?: number;
}

/** The state of one bar, as drawn and as sent through the side channel. */
export interface BarState {
  label: string;
  done: number;
  total: number;
  /** Seconds since the bar started. */
  elapsed: number;
  /** Short text after the bar, e.g. "loss 0.41". */
  status: string;
}

/** One line of the side channel (TESSERA_PROGRESS_FILE): a bar redraw, a finished bar, a notebook cell, a note. */
export type ProgressEvent =
  | ({ kind: 'bar'; final: boolean } & BarState)
  | { kind: 'cell'; index: number; of: number; source: string; /** ms since the epoch */ at: number }
  | { kind: 'info'; text: string };

type Mode = 'tty' | 'notebook' | 'log' | 'off';

function detectMode(): Mode {
  if (process.env.TESSERA_PROGRESS === '0') return 'off';
  if (process.env.TESSERA_NOTEBOOK === '1') return 'notebook';
  if (process.stderr.isTTY) return 'tty';
  return 'log';
}

/** Appends one event to the side channel, when there is one. A failing write never stops the computation. */
export function emitProgressEvent(event: ProgressEvent, file = process.env.TESSERA_PROGRESS_FILE): void {
  if (!file) return;
  try {
    fs.appendFileSync(file, JSON.stringify(event) + '\n');
  } catch {
    // the reader went away (its temporary folder was removed): progress is not worth failing a run for
  }
}

/**
 * An informational line (which engine runs, where files went): stdout in a notebook, where stderr would show as an
 * error; stderr elsewhere, so that commands printing JSON on stdout stay parseable. Also sent to the side channel.
 */
export function info(text: string): void {
  (process.env.TESSERA_NOTEBOOK === '1' ? process.stdout : process.stderr).write(text + '\n');
  emitProgressEvent({ kind: 'info', text });
}

/** A finished loop: label, steps and wall time (what `loopTimes` returns). */
export interface LoopTime {
  label: string;
  total: number;
  seconds: number;
}

const finishedLoops: LoopTime[] = [];

/** Every loop finished in this process so far, in order (for the time per step in results.json provenance). */
export function loopTimes(): LoopTime[] {
  return finishedLoops.slice();
}

/** `label [#####-----] done/total 12.3s eta 4.0s status`: the one format of a bar, in every mode and in the runner. */
export function formatBar(s: BarState): string {
  const frac = s.total > 0 ? Math.min(1, s.done / s.total) : 1;
  const width = 24;
  const filled = Math.round(frac * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  const eta = frac > 0 && frac < 1 ? ` eta ${formatSeconds((s.elapsed / frac) * (1 - frac))}` : '';
  const status = s.status ? ` ${s.status}` : '';
  return `${s.label} [${bar}] ${s.done}/${s.total} ${formatSeconds(s.elapsed)}${eta}${status}`;
}

export class Progress {
  private done = 0;
  private readonly start = Date.now();
  private lastDraw = 0;
  private lastLoggedTenth = -1;
  /** Longest line drawn so far in a notebook: shorter redraws are padded to it (see draw). */
  private longest = 0;
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
    this.interval = (opts.interval ?? (this.mode === 'notebook' ? 0.5 : 0.2)) * 1000;
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

  /** Ends the bar with a final line and records its time (`loopTimes`). */
  finish(status?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (status !== undefined) this.status = status;
    finishedLoops.push({ label: this.label, total: this.total, seconds: (Date.now() - this.start) / 1000 });
    this.draw(true);
  }

  /** The bar's current state. */
  state(): BarState {
    return { label: this.label, done: this.done, total: this.total, elapsed: (Date.now() - this.start) / 1000, status: this.status };
  }

  /** The text of the current line, without control characters (exposed for tests). */
  line(): string {
    return formatBar(this.state());
  }

  private draw(final: boolean): void {
    if (this.mode === 'off') return;
    const line = this.line();
    switch (this.mode) {
      case 'tty':
        process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
        break;
      case 'notebook': {
        // Jupyter front ends overwrite a line character by character after '\r' and ignore ANSI erase codes, so a
        // shorter redraw would leave the tail of the longer one behind: pad with spaces to the longest so far.
        this.longest = Math.max(this.longest, line.length);
        process.stdout.write(`\r${line.padEnd(this.longest)}${final ? '\n' : ''}`);
        break;
      }
      case 'log': {
        const tenth = this.total > 0 ? Math.floor((this.done / this.total) * 10) : 10;
        if (final || tenth > this.lastLoggedTenth) {
          this.lastLoggedTenth = tenth;
          if (final || tenth < 10) process.stderr.write(line + '\n');
        }
        break;
      }
    }
    emitProgressEvent({ kind: 'bar', final, ...this.state() });
  }
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return `${m}m${String(s).padStart(2, '0')}s`;
}

/** Runs `body` for each item with a progress bar. */
export async function withProgress<T>(
  label: string,
  items: readonly T[],
  body: (item: T, index: number) => Promise<void> | void,
): Promise<void> {
  const bar = new Progress(label, items.length);
  for (let i = 0; i < items.length; i++) {
    await body(items[i], i);
    bar.tick();
  }
  bar.finish();
}

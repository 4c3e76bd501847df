import type { PlotSpec } from '../plot/spec';
import type { Row } from '../plot/table';

export const SCALES = ['quick', 'standard', 'full'] as const;
/** How big a run is: quick (minutes on a laptop, committed figures), standard, full (the paper's setting where feasible). */
export type Scale = (typeof SCALES)[number];

/** holds: the rule passes with the interval on the passing side; fails: it does not; inconclusive: the interval straddles. */
export type Verdict = 'holds' | 'fails' | 'inconclusive';
export const VERDICTS: readonly Verdict[] = ['holds', 'fails', 'inconclusive'];
/** paper: a claim of the paper; check: an implementation check (e.g. CAM's mean equals the logit); extension: ours. */
export type ClaimKind = 'paper' | 'check' | 'extension';
export const CLAIM_KINDS: readonly ClaimKind[] = ['paper', 'check', 'extension'];

/** A confidence interval of the measured quantity the rule compares (e.g. a bootstrap over images or seeds). */
export interface Interval {
  low: number;
  high: number;
  /** Confidence level, e.g. 0.95. */
  level: number;
  /** What was resampled, e.g. "images (bootstrap, 2000 resamples)" or "seeds". */
  over: string;
}

/**
 * One checked statement of a paper. `paper` is what the paper reports, `measured` what we measured, and the verdict
 * is decided by a rule written in the study's code (stated in `details`), fixed before the run. `pass` is
 * verdict === 'holds' (kept for readers of older claims.json); a claim without `verdict` is read as holds/fails
 * from `pass` and `kind` defaults to 'paper' (see `verdictOf`, `kindOf`).
 */
export interface Claim {
  id: string;
  claim: string;
  paper: string;
  measured: string;
  pass: boolean;
  details: string;
  verdict?: Verdict;
  kind?: ClaimKind;
  interval?: Interval;
}

export function verdictOf(c: Claim): Verdict {
  return c.verdict ?? (c.pass ? 'holds' : 'fails');
}

export function kindOf(c: Claim): ClaimKind {
  return c.kind ?? 'paper';
}

/** Where and how a study runs. `out` is the study's own folder (<outRoot>/<study>). */
export interface StudyContext {
  study: string;
  scale: Scale;
  seed: number;
  outRoot: string;
  out: string;
  /** A user data folder (--data), if given. */
  data?: string;
}

/** A figure: a plotly spec and a caption; exported as <out>/figures/<name>.png|.svg|.html. */
export interface Figure {
  name: string;
  caption: string;
  spec: PlotSpec;
}

/** A table, saved as <out>/tables/<name>.csv. */
export interface Table {
  name: string;
  caption: string;
  rows: Row[];
}

/** Everything a study run produces. `results` holds the raw numbers (results.json). */
export interface StudyOutput {
  results: Record<string, unknown>;
  claims: Claim[];
  figures: Figure[];
  tables?: Table[];
}

/** One seed's run of a study, as `tessera aggregate` reads it back (<run>/<study>/results.json and claims.json). */
export interface SeedRun {
  seed: number;
  /** `StudyOutput.results` of that seed, as saved in results.json. */
  results: StudyOutput['results'];
  claims: Claim[];
}

/** A reproduced paper: its config per scale lives in its module; `run` does the whole study. */
export interface Study {
  name: string;
  title: string;
  paper: string;
  /** What the study shows, one paragraph (used by `tessera list` and the index page). */
  summary: string;
  /** The study's notebook, relative to the project root, when it has one. */
  notebook?: string;
  run(ctx: StudyContext): Promise<StudyOutput>;
  /**
   * Optional: decides the claims over several seeds of one scale (`tessera reproduce --seeds` and `tessera
   * aggregate`). Gets every seed's saved results and claims, in increasing seed order, and returns one claim per id
   * with the verdict of the study's own rule applied to the aggregate: e.g. collect the per-seed value the rule
   * compares from `results`, take an interval over seeds (lib/analysis/intervals) and read it against the claim's
   * threshold with `verdictFromInterval`, with `interval.over` naming the seeds. Without it the harness keeps a claim's
   * verdict when every seed agrees and makes it 'inconclusive' otherwise, the per-seed verdicts in `measured`
   * (lib/report/aggregate.ts `defaultAggregate`).
   */
  aggregate?(runs: readonly SeedRun[]): Claim[];
}

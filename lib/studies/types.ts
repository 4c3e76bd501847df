import type { PlotSpec } from '../plot/spec';
import type { Row } from '../plot/table';

export const SCALES = ['quick', 'standard', 'full'] as const;
/** How big a run is: quick (minutes on a laptop, committed figures), standard, full (the paper's setting where feasible). */
export type Scale = (typeof SCALES)[number];

/**
 * One checked statement of a paper. `paper` is what the paper reports, `measured` what we measured, and `pass` is
 * decided by a rule written in the study's code (stated in `details`).
 */
export interface Claim {
  id: string;
  claim: string;
  paper: string;
  measured: string;
  pass: boolean;
  details: string;
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
}

import { analyzeAnswers } from '../../userstudy/analysis';
import type { Answer } from '../../userstudy/tasks';
import type { Rng } from '../../util/rng';
import type { Table } from '../types';
import type { Summary } from './summaries';

/**
 * The user study of the paper at our scale: one task per summary ("do these regions show the same part? name it;
 * how clear?"), written for the user-study web app (tessera serve), and simulated annotators that answer from the
 * parts-birds ground truth. Field names follow lib/userstudy's "summary" convention: enum `same` (first value
 * affirmative) and string `name`; `clarity` is an integer 1-5. Answers have the web app's shape.
 */

export interface SummaryTask {
  id: string;
  kind: 'summary';
  prompt: string;
  images: string[];
  fields: Record<
    string,
    { type: 'enum'; values: string[] } | { type: 'integer'; min: number; max: number } | { type: 'string'; maxLength: number }
  >;
  /** `group` is the architecture: lib/userstudy's summary analysis reports per group. */
  meta: { label: string; architecture: string; group: string; class: string };
}

/** An answer as the web app stores it. */
export type StudyAnswer = Answer;

export const SAME_VALUES = ['yes', 'partly', 'no'];

export const SUMMARY_PROMPT =
  'These image regions were grouped by the network as one "visual summary" of the class. ' +
  'Do the highlighted regions (inside the red boxes; grey = not salient) show the same part of the bird? ' +
  'Name that part in one or two words, and say how clearly the regions show it (1 = not at all, 5 = very clearly).';

export function summaryTask(id: string, images: string[], meta: Omit<SummaryTask['meta'], 'group'>): SummaryTask {
  return {
    id,
    kind: 'summary',
    prompt: SUMMARY_PROMPT,
    images,
    fields: {
      same: { type: 'enum', values: SAME_VALUES },
      name: { type: 'string', maxLength: 40 },
      clarity: { type: 'integer', min: 1, max: 5 },
    },
    meta: { ...meta, group: meta.architecture },
  };
}

/**
 * A simulated annotator's answer to one summary, from the ground truth: each member's dominant part is seen
 * correctly with probability `perception`, otherwise as a random other label; "same" is yes when the most common
 * seen part covers at least `yes` of the members, partly at least `partly`; the name is that part's; clarity is
 * 1 + 4 x the mean pixel share of the dominant part in the members' salient regions, rounded.
 */
export function simulatedAnswer(
  summary: Summary,
  partNames: readonly string[],
  rng: Rng,
  o: { perception: number; yes: number; partly: number },
): Record<string, string | number> {
  const labels = partNames.length + 1;
  const seen = summary.members.map((m) => (rng.next() < o.perception ? m.part : (m.part + 1 + rng.int(labels - 1)) % labels));
  const counts = new Map<number, number>();
  for (const p of seen) counts.set(p, (counts.get(p) ?? 0) + 1);
  const [part, count] = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0];
  const share = count / seen.length;
  const meanShare = summary.members.reduce((a, m) => a + m.partShare, 0) / summary.members.length;
  return {
    same: share >= o.yes ? 'yes' : share >= o.partly ? 'partly' : 'no',
    name: part === 0 ? 'background' : partNames[part - 1],
    clarity: 1 + Math.round(4 * meanShare),
  };
}

/**
 * The user-study tables (lib/userstudy's analysis, the same that reads real answers from the web app's database):
 * overview, per summary, and overall plus per architecture (`meta.group`) with bootstrap intervals over summaries.
 * Tables are named "user-study-<name>"; with simulated answers every caption says so first.
 */
export function userStudyTables(
  study: string,
  tasks: readonly SummaryTask[],
  answers: readonly StudyAnswer[],
  rng: Rng,
  simulated: boolean,
): Table[] {
  return analyzeAnswers({ study, tasks: [...tasks] }, answers, rng).map((t) => ({
    ...t,
    name: `user-study-${t.name}`,
    caption: (simulated ? 'SIMULATED annotators answering from the ground-truth part maps (not people). ' : '') + t.caption,
  }));
}

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
  meta: { label: string; architecture: string; class: string };
}

/** An answer as the web app stores it. */
export interface StudyAnswer {
  participant: string;
  study: string;
  task: string;
  answer: Record<string, string | number>;
}

export const SAME_VALUES = ['yes', 'partly', 'no'];

export const SUMMARY_PROMPT =
  'These image regions were grouped by the network as one "visual summary" of the class. ' +
  'Do the highlighted regions (inside the red boxes; grey = not salient) show the same part of the bird? ' +
  'Name that part in one or two words, and say how clearly the regions show it (1 = not at all, 5 = very clearly).';

export function summaryTask(id: string, images: string[], meta: SummaryTask['meta']): SummaryTask {
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
    meta,
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

/** Fleiss' kappa over subjects x categories counts (raters per subject may differ; each >= 2). NaN when chance is 1. */
export function fleissKappa(counts: readonly number[][]): number {
  const k = counts[0]?.length ?? 0;
  const totals = new Array<number>(k).fill(0);
  let ratings = 0;
  let sumP = 0;
  for (const row of counts) {
    const n = row.reduce((a, b) => a + b, 0);
    sumP += (row.reduce((a, v) => a + v * v, 0) - n) / (n * (n - 1));
    row.forEach((v, j) => (totals[j] += v));
    ratings += n;
  }
  const chance = totals.reduce((a, t) => a + (t / ratings) ** 2, 0);
  return chance === 1 ? NaN : (sumP / counts.length - chance) / (1 - chance);
}

/**
 * The user-study table per architecture from answers in the web app's shape: summaries, answers, agreement (share
 * of "yes"), naming consistency (share of names equal to the summary's most common name), Fleiss' kappa of "same"
 * over the summaries, and mean clarity.
 */
export function userStudyTable(tasks: readonly SummaryTask[], answers: readonly StudyAnswer[], simulated: boolean): Table {
  const archs = [...new Set(tasks.map((t) => t.meta.architecture))];
  const rows = archs.map((arch) => {
    const mine = tasks.filter((t) => t.meta.architecture === arch);
    const agreement: number[] = [];
    const naming: number[] = [];
    const clarity: number[] = [];
    const kappaRows: number[][] = [];
    for (const t of mine) {
      const got = answers.filter((a) => a.task === t.id);
      if (!got.length) continue;
      agreement.push(got.filter((a) => a.answer.same === 'yes').length / got.length);
      const names = got.map((a) => String(a.answer.name).trim().toLowerCase());
      const top = Math.max(...[...new Set(names)].map((n) => names.filter((m) => m === n).length));
      naming.push(top / names.length);
      clarity.push(...got.map((a) => Number(a.answer.clarity)));
      if (got.length >= 2) kappaRows.push(SAME_VALUES.map((v) => got.filter((a) => a.answer.same === v).length));
    }
    const mean = (v: number[]) => (v.length ? Number((v.reduce((a, b) => a + b, 0) / v.length).toFixed(3)) : NaN);
    return {
      architecture: arch,
      summaries: mine.length,
      answers: answers.filter((a) => mine.some((t) => t.id === a.task)).length,
      agreement: mean(agreement),
      namingConsistency: mean(naming),
      fleissKappa: kappaRows.length >= 2 ? Number(fleissKappa(kappaRows).toFixed(3)) : NaN,
      meanClarity: mean(clarity),
    };
  });
  return {
    name: 'user-study',
    caption:
      `User-study table per ` +
      `architecture${simulated ? ' from SIMULATED annotators answering from the ground-truth part maps (not people)' : ''}: ` +
      'agreement = share of "yes, same part"; naming consistency = share of names equal to the summary\'s most common name; Fleiss\' ' +
      'kappa of the "same" answers.',
    rows,
  };
}

import { bootstrapInterval, wilsonInterval } from '../analysis/intervals';
import type { Interval, Table } from '../studies/types';
import { Rng } from '../util/rng';
import type { Answer, Task, TaskSetFile } from './tasks';

/**
 * The user-study tables, one analysis per task kind. The same functions read real answers (`tessera user-study
 * analyze`, from the database) and simulated ones (a study's simulated annotators): both are `Answer`s.
 *
 * Conventions a task set follows for its kinds:
 * - "ab": two images and one enum choice (`meta.field` names it when the task has several enum fields) whose first
 *   two values stand for the first and the second image (e.g. A/B, left/right; further values such as "same" count
 *   as undecided). What each image shows (its arm) is `meta.arms` = [arm of image 1, arm of image 2], or
 *   `meta[<value>]` for each of the two values (e.g. meta.left = "cam", meta.right = "window"). Put each arm on
 *   either side across tasks: the analysis maps positions back to arms.
 * - "summary": the images of one summary; an enum field `same` whose FIRST value is the affirmative ("yes": the
 *   images show the same part) and a string field `name` (the part's name); integer fields (e.g. a clarity rating) are
 *   averaged; `meta.label` optionally names the summary and `meta.group` (e.g. the architecture) groups the summaries.
 * - any other kind: counts of every enum value and the mean of every integer field, per task.
 */
export interface KindAnalysis {
  kind: string;
  /** Tables of one study's answers to its tasks of this kind (answers already restricted to those tasks). */
  tables(study: string, tasks: readonly Task[], answers: readonly Answer[], rng: Rng): Table[];
}

/** Fleiss' kappa with its ingredients; kappa is NaN when chance agreement is 1 (every rating in one category). */
export interface FleissResult {
  kappa: number;
  /** Mean observed agreement P-bar over subjects. */
  observed: number;
  /** Chance agreement P_e = sum_j p_j^2. */
  chance: number;
  subjects: number;
}

/**
 * Fleiss' kappa (Fleiss 1971) from a subjects x categories matrix of counts: counts[i][j] = how many raters put
 * subject i in category j. Subjects may have different numbers of raters n_i (each needs n_i >= 2):
 *   P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1)),  P-bar = mean_i P_i,
 *   p_j = sum_i n_ij / sum_i n_i,  P_e = sum_j p_j^2,  kappa = (P-bar - P_e) / (1 - P_e).
 * With equal n_i this is Fleiss' formula exactly.
 */
export function fleissKappa(counts: readonly (readonly number[])[]): FleissResult {
  if (!counts.length) throw new Error('fleissKappa: no subjects');
  const k = counts[0].length;
  const totals = new Array<number>(k).fill(0);
  let ratings = 0;
  let sumP = 0;
  for (const [i, row] of counts.entries()) {
    if (row.length !== k) throw new Error(`fleissKappa: subject ${i} has ${row.length} categories, expected ${k}`);
    const n = row.reduce((a, b) => a + b, 0);
    if (n < 2) throw new Error(`fleissKappa: subject ${i} has ${n} ratings, needs at least 2`);
    let sq = 0;
    for (let j = 0; j < k; j++) {
      sq += row[j] * row[j];
      totals[j] += row[j];
    }
    sumP += (sq - n) / (n * (n - 1));
    ratings += n;
  }
  const observed = sumP / counts.length;
  const chance = totals.reduce((a, t) => a + (t / ratings) ** 2, 0);
  const kappa = chance === 1 ? NaN : (observed - chance) / (1 - chance);
  return { kappa, observed, chance, subjects: counts.length };
}

/** A name as compared for naming consistency: lower case, inner whitespace collapsed, outer punctuation dropped. */
export function normaliseName(name: string): string {
  return name
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/^[\s\p{P}]+|[\s\p{P}]+$/gu, '');
}

/** The most frequent value (ties: the first in sorted order) and its count. */
function mode(values: readonly string[]): { value: string; count: number } {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = { value: '', count: 0 };
  for (const [value, count] of [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (count > best.count) best = { value, count };
  }
  return best;
}

function round(x: number, digits = 4): number {
  return Number.isFinite(x) ? Number(x.toFixed(digits)) : NaN;
}

function intervalColumns(iv: Interval | null): Record<string, number | string> {
  return iv
    ? { low: round(iv.low), high: round(iv.high), interval: `${Math.round(iv.level * 100)}% over ${iv.over}` }
    : { low: '', high: '', interval: '' };
}

function answersByTask(answers: readonly Answer[]): Map<string, Answer[]> {
  const by = new Map<string, Answer[]>();
  for (const a of answers) by.set(a.task, [...(by.get(a.task) ?? []), a]);
  return by;
}

/** How an A/B task is read: the choice field, its values for image 1 and image 2, and the arm each image shows. */
export interface AbDesign {
  field: string;
  values: [string, string];
  arms: [string, string];
}

/** The A/B design of a task (see the conventions above), or an error saying what the task lacks. */
export function abDesign(study: string, task: Task): AbDesign {
  const fail = (what: string) => new Error(`user study ${study}: ab task ${task.id} ${what}`);
  if (task.images.length !== 2) throw fail(`has ${task.images.length} images, expected 2`);
  const enums = Object.keys(task.fields).filter((n) => task.fields[n].type === 'enum');
  const field = typeof task.meta?.field === 'string' ? task.meta.field : enums.length === 1 ? enums[0] : undefined;
  const f = field === undefined ? undefined : task.fields[field];
  if (field === undefined || f?.type !== 'enum') {
    throw fail(`needs one enum field for the choice, or meta.field naming it (enums: ${enums.join(', ')})`);
  }
  const values: [string, string] = [f.values[0], f.values[1]];
  const meta = task.meta ?? {};
  const arms: unknown[] = Array.isArray(meta.arms) ? meta.arms : values.map((v) => meta[v]);
  if (arms.length !== 2 || !arms.every((x): x is string => typeof x === 'string')) {
    throw fail(`needs meta.arms = [arm of image 1, arm of image 2] or meta.${values[0]} and meta.${values[1]} naming the arms`);
  }
  return { field, values, arms: [arms[0], arms[1]] };
}

/** Preference counts per task and, per pair of arms, the share preferring the first with a Wilson interval. */
export const abAnalysis: KindAnalysis = {
  kind: 'ab',
  tables(study, tasks, answers) {
    const by = answersByTask(answers);
    const perTask = [];
    const pairs = new Map<string, { arms: [string, string]; wins: [number, number]; undecided: number; tasks: number }>();
    for (const task of tasks) {
      const { field, values, arms } = abDesign(study, task);
      const got = by.get(task.id) ?? [];
      const a = got.filter((x) => x.answer[field] === values[0]).length;
      const b = got.filter((x) => x.answer[field] === values[1]).length;
      perTask.push({
        task: task.id,
        arm1: arms[0],
        arm2: arms[1],
        answers: got.length,
        prefer1: a,
        prefer2: b,
        undecided: got.length - a - b,
      });
      // Pairs keyed by sorted arm names, so a pair shown as (x, y) and as (y, x) pools into one row.
      const sorted = [...arms].sort() as [string, string];
      const key = JSON.stringify(sorted);
      const pair = pairs.get(key) ?? { arms: sorted, wins: [0, 0], undecided: 0, tasks: 0 };
      const [first, second] = arms[0] === sorted[0] ? [a, b] : [b, a];
      pair.wins[0] += first;
      pair.wins[1] += second;
      pair.undecided += got.length - a - b;
      pair.tasks += 1;
      pairs.set(key, pair);
    }
    const preference = [...pairs.values()].map((p) => {
      const decisive = p.wins[0] + p.wins[1];
      const iv = decisive ? wilsonInterval(p.wins[0], decisive, 0.95, 'decisive answers') : null;
      return {
        first: p.arms[0],
        second: p.arms[1],
        tasks: p.tasks,
        decisive,
        preferFirst: p.wins[0],
        preferSecond: p.wins[1],
        undecided: p.undecided,
        shareFirst: decisive ? round(p.wins[0] / decisive) : NaN,
        ...intervalColumns(iv),
      };
    });
    return [
      {
        name: 'ab-per-task',
        caption: `${study}: A/B answers per task (arm1 and arm2: what the first and the second image show)`,
        rows: perTask,
      },
      {
        name: 'ab-preference',
        caption:
          `${study}: share of decisive answers preferring the first arm of each pair, with a 95% Wilson interval ` +
          '(answers treated as independent trials; undecided answers excluded)',
        rows: preference,
      },
    ];
  },
};

/** One summary's numbers, as the overall rows pool them. */
interface SummaryStats {
  group: string;
  agreement: number;
  consistency: number;
  /** Counts per "same" value when two or more raters answered, else null (kappa needs two). */
  kappaRow: number[] | null;
  /** Per integer field, the mean answer (NaN without answers). */
  means: Record<string, number>;
}

/** Mean over the units (indices) of `values`, for bootstrapInterval. */
const meanOf = (values: readonly number[]) => (idx: Int32Array) => {
  let s = 0;
  for (const i of idx) s += values[i];
  return s / idx.length;
};

/** A measure's mean over summaries with a bootstrap interval over summaries (none for a single summary). */
function meanRow(measure: string, values: readonly number[], rng: Rng): Record<string, unknown> {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  const iv = values.length > 1 ? bootstrapInterval(values.length, meanOf(values), rng, { unit: 'summaries' }) : null;
  return { measure, value: round(m), summaries: values.length, ...intervalColumns(iv) };
}

/** The overall rows of a set of summaries: mean agreement, naming consistency, integer fields, Fleiss' kappa. */
function summaryOverall(stats: readonly SummaryStats[], integerFields: readonly string[], rng: Rng): Record<string, unknown>[] {
  const rows = [];
  const finite = (xs: number[]) => xs.filter(Number.isFinite);
  const agreement = finite(stats.map((s) => s.agreement));
  if (agreement.length) rows.push(meanRow('agreement (mean over summaries)', agreement, rng.fork('agreement')));
  const naming = finite(stats.map((s) => s.consistency));
  if (naming.length) rows.push(meanRow('naming consistency (mean over summaries)', naming, rng.fork('naming')));
  for (const f of integerFields) {
    const means = finite(stats.map((s) => s.means[f]));
    if (means.length) rows.push(meanRow(`${f} (mean over summaries)`, means, rng.fork(`mean-${f}`)));
  }
  const kappaRows = stats.flatMap((s) => (s.kappaRow ? [s.kappaRow] : []));
  if (kappaRows.length >= 2) {
    const { kappa } = fleissKappa(kappaRows);
    const iv = bootstrapInterval(kappaRows.length, (idx) => fleissKappa(Array.from(idx, (i) => kappaRows[i])).kappa, rng.fork('kappa'), {
      unit: 'summaries',
    });
    rows.push({ measure: `Fleiss' kappa of "same"`, value: round(kappa), summaries: kappaRows.length, ...intervalColumns(iv) });
  } else {
    // Said, not left out: kappa needs at least two summaries that each have two or more raters.
    const measure = `Fleiss' kappa of "same" (needs 2 summaries with 2+ raters)`;
    rows.push({ measure, value: NaN, summaries: kappaRows.length, ...intervalColumns(null) });
  }
  return rows;
}

/**
 * Per summary: agreement that its images show one part, the modal name, naming consistency and the mean of each
 * integer field; overall (and per `meta.group` when tasks have one, e.g. the architecture): their means over
 * summaries and Fleiss' kappa of "same", with bootstrap intervals over summaries.
 */
export const summaryAnalysis: KindAnalysis = {
  kind: 'summary',
  tables(study, tasks, answers, rng) {
    const by = answersByTask(answers);
    const perTask = [];
    const stats: SummaryStats[] = [];
    let categories: readonly string[] | null = null;
    const integerFields = [...new Set(tasks.flatMap((t) => Object.keys(t.fields).filter((n) => t.fields[n].type === 'integer')))];
    for (const task of tasks) {
      const same = task.fields.same;
      if (same?.type !== 'enum') throw new Error(`user study ${study}: summary task ${task.id} needs an enum field "same"`);
      if (task.fields.name?.type !== 'string') throw new Error(`user study ${study}: summary task ${task.id} needs a string field "name"`);
      if (categories && JSON.stringify(categories) !== JSON.stringify(same.values)) {
        throw new Error(
          `user study ${study}: summary task ${task.id} has "same" values ${same.values.join('/')}, others ${categories.join('/')}`,
        );
      }
      categories = same.values;
      const got = by.get(task.id) ?? [];
      const yes = got.filter((a) => a.answer.same === same.values[0]).length;
      const names = got.map((a) => normaliseName(String(a.answer.name ?? ''))).filter(Boolean);
      const top = mode(names);
      const means: Record<string, number> = {};
      for (const f of integerFields) {
        const xs = got.map((a) => a.answer[f]).filter((v): v is number => typeof v === 'number');
        means[f] = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
      }
      const group = typeof task.meta?.group === 'string' ? task.meta.group : '';
      const kappaRow = got.length >= 2 ? same.values.map((v) => got.filter((a) => a.answer.same === v).length) : null;
      const st = {
        group,
        agreement: got.length ? yes / got.length : NaN,
        consistency: names.length ? top.count / names.length : NaN,
        kappaRow,
        means,
      };
      stats.push(st);
      perTask.push({
        task: task.id,
        ...(group ? { group } : {}),
        label: typeof task.meta?.label === 'string' ? task.meta.label : '',
        raters: got.length,
        [`answered ${same.values[0]}`]: yes,
        agreement: round(st.agreement),
        topName: top.value,
        namingConsistency: round(st.consistency),
        distinctNames: new Set(names).size,
        ...Object.fromEntries(integerFields.map((f) => [`mean ${f}`, round(means[f])])),
      });
    }
    const groups = [...new Set(stats.map((s) => s.group).filter(Boolean))].sort();
    const overall = [
      ...summaryOverall(stats, integerFields, rng).map((r) => (groups.length ? { group: 'all', ...r } : r)),
      ...groups.flatMap((g) =>
        summaryOverall(
          stats.filter((s) => s.group === g),
          integerFields,
          rng.fork(`group-${g}`),
        ).map((r) => ({ group: g, ...r })),
      ),
    ];
    return [
      {
        name: 'summary-per-task',
        caption: `${study}: per summary, raters' agreement that its images show one part and the names given`,
        rows: perTask,
      },
      {
        name: 'summary-overall',
        caption:
          `${study}: agreement, naming consistency (share of names equal to the summary's most common name), integer fields and ` +
          "Fleiss' kappa over summaries with at least two raters" +
          (groups.length ? ', over all summaries and per group' : '') +
          '; 95% percentile-bootstrap intervals over summaries',
        rows: overall,
      },
    ];
  },
};

/** Any other kind: per task and field, how often each enum value was chosen, and integer means. */
export const countsAnalysis: KindAnalysis = {
  kind: '*',
  tables(study, tasks, answers) {
    const by = answersByTask(answers);
    const rows = [];
    for (const task of tasks) {
      const got = by.get(task.id) ?? [];
      for (const [name, f] of Object.entries(task.fields)) {
        const given = got.map((a) => a.answer[name]).filter((v) => v !== undefined);
        if (f.type === 'enum') {
          for (const v of f.values)
            rows.push({ task: task.id, kind: task.kind, field: name, value: v, count: given.filter((g) => g === v).length });
        } else if (f.type === 'integer') {
          const nums = given.map(Number);
          rows.push({
            task: task.id,
            kind: task.kind,
            field: name,
            value: 'mean',
            count: nums.length,
            mean: nums.length ? round(nums.reduce((a, b) => a + b, 0) / nums.length) : NaN,
          });
        }
      }
    }
    return rows.length
      ? [{ name: 'counts', caption: `${study}: answers per task and field (kinds without their own analysis)`, rows }]
      : [];
  },
};

/** The analyses by kind; a kind not listed gets `countsAnalysis`. */
export const ANALYSES: Record<string, KindAnalysis> = { ab: abAnalysis, summary: summaryAnalysis };

/**
 * All user-study tables of one task set from its answers, real or simulated. Answers to tasks the set does not have
 * are an error (they would silently vanish from the tables otherwise). `rng` seeds the bootstrap intervals.
 */
export function analyzeAnswers(set: Pick<TaskSetFile, 'study' | 'tasks'>, answers: readonly Answer[], rng: Rng): Table[] {
  const ids = new Set(set.tasks.map((t) => t.id));
  const stray = answers.find((a) => a.study !== set.study || !ids.has(a.task));
  if (stray) throw new Error(`user study ${set.study}: an answer is for ${stray.study}/${stray.task}, which is not a task of this set`);
  const kinds = [...new Set(set.tasks.map((t) => t.kind))].sort();
  const overview = {
    name: 'overview',
    caption: `${set.study}: answers per task kind`,
    rows: kinds.map((kind) => {
      const tasks = set.tasks.filter((t) => t.kind === kind);
      const got = answers.filter((a) => tasks.some((t) => t.id === a.task));
      return { kind, tasks: tasks.length, answers: got.length, participants: new Set(got.map((a) => a.participant)).size };
    }),
  };
  const tables: Table[] = [overview];
  const generic = set.tasks.filter((t) => !ANALYSES[t.kind]);
  for (const kind of kinds.filter((k) => ANALYSES[k])) {
    const tasks = set.tasks.filter((t) => t.kind === kind);
    const mine = new Set(tasks.map((t) => t.id));
    tables.push(
      ...ANALYSES[kind].tables(
        set.study,
        tasks,
        answers.filter((a) => mine.has(a.task)),
        rng.fork(kind),
      ),
    );
  }
  if (generic.length) {
    const mine = new Set(generic.map((t) => t.id));
    tables.push(
      ...countsAnalysis.tables(
        set.study,
        generic,
        answers.filter((a) => mine.has(a.task)),
        rng.fork('counts'),
      ),
    );
  }
  return tables;
}

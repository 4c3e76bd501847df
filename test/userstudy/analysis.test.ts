import { wilsonInterval } from '../../lib/analysis/intervals';
import { abAnalysis, analyzeAnswers, fleissKappa, normaliseName, summaryAnalysis } from '../../lib/userstudy/analysis';
import type { Answer, Task } from '../../lib/userstudy/tasks';
import { Rng } from '../../lib/util/rng';

/**
 * The analysis per task kind, on hand-made (simulated) answers: the same functions `tessera user-study analyze` runs on
 * the stored ones. Fleiss' kappa against hand-worked examples and a slow literal twin over rater pairs.
 */

/** Fleiss' kappa the slow, literal way: P_i = agreeing ordered rater pairs / all ordered pairs of subject i's labels. */
function literalFleiss(labels: readonly (readonly number[])[], categories: number): number {
  let sumP = 0;
  const totals = new Array<number>(categories).fill(0);
  let ratings = 0;
  for (const subject of labels) {
    let agree = 0;
    let pairs = 0;
    for (let a = 0; a < subject.length; a++) {
      for (let b = 0; b < subject.length; b++) {
        if (a === b) continue;
        pairs++;
        if (subject[a] === subject[b]) agree++;
      }
      totals[subject[a]]++;
      ratings++;
    }
    sumP += agree / pairs;
  }
  const pBar = sumP / labels.length;
  const pE = totals.reduce((s, t) => s + (t / ratings) ** 2, 0);
  return (pBar - pE) / (1 - pE);
}

describe("Fleiss' kappa", () => {
  it('hand-worked: 3 subjects, 2 raters, yes/no', () => {
    // Subjects: both yes, both no, split. p_yes = 3/6, P_e = 0.25 + 0.25 = 0.5; P_i = 1, 1, 0, P-bar = 2/3;
    // kappa = (2/3 - 1/2) / (1 - 1/2) = 1/3.
    const r = fleissKappa([
      [2, 0],
      [0, 2],
      [1, 1],
    ]);
    expect(r.observed).toBeCloseTo(2 / 3, 12);
    expect(r.chance).toBeCloseTo(0.5, 12);
    expect(r.kappa).toBeCloseTo(1 / 3, 12);
  });

  it('hand-worked: perfect agreement gives 1, systematic disagreement below 0, one category undefined', () => {
    expect(
      fleissKappa([
        [3, 0],
        [0, 3],
      ]).kappa,
    ).toBeCloseTo(1, 12);
    // Each subject split 1/1: P_i = 0, p = (1/2, 1/2), P_e = 1/2, kappa = (0 - 1/2) / (1/2) = -1.
    expect(
      fleissKappa([
        [1, 1],
        [1, 1],
      ]).kappa,
    ).toBeCloseTo(-1, 12);
    expect(
      fleissKappa([
        [2, 0],
        [3, 0],
      ]).kappa,
    ).toBeNaN();
  });

  it("Fleiss' worked example of 10 subjects, 14 raters, 5 categories: kappa 0.210", () => {
    // The classic textbook table (as in the Wikipedia article on Fleiss' kappa): P-bar = 0.378, P_e = 0.213.
    const table = [
      [0, 0, 0, 0, 14],
      [0, 2, 6, 4, 2],
      [0, 0, 3, 5, 6],
      [0, 3, 9, 2, 0],
      [2, 2, 8, 1, 1],
      [7, 7, 0, 0, 0],
      [3, 2, 6, 3, 0],
      [2, 5, 3, 2, 2],
      [6, 5, 2, 1, 0],
      [0, 2, 2, 3, 7],
    ];
    const r = fleissKappa(table);
    expect(r.observed).toBeCloseTo(0.378, 3);
    expect(r.chance).toBeCloseTo(0.213, 3);
    expect(r.kappa).toBeCloseTo(0.21, 3);
  });

  it('equals the literal pairwise twin on random ratings, with varying raters per subject', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 20; trial++) {
      const k = 2 + rng.int(3);
      const labels = Array.from({ length: 3 + rng.int(10) }, () => Array.from({ length: 2 + rng.int(5) }, () => rng.int(k)));
      const counts = labels.map((s) => Array.from({ length: k }, (_, j) => s.filter((l) => l === j).length));
      const fast = fleissKappa(counts).kappa;
      const slow = literalFleiss(labels, k);
      if (Number.isNaN(slow)) expect(fast).toBeNaN();
      else expect(fast).toBeCloseTo(slow, 10);
    }
  });

  it('refuses subjects with fewer than two ratings and ragged rows', () => {
    expect(() =>
      fleissKappa([
        [1, 0],
        [1, 1],
      ]),
    ).toThrow('subject 0 has 1 ratings, needs at least 2');
    expect(() =>
      fleissKappa([
        [1, 1],
        [1, 1, 0],
      ]),
    ).toThrow('subject 1 has 3 categories, expected 2');
  });
});

const abTask = (id: string, arms: [string, string]): Task => ({
  id,
  kind: 'ab',
  prompt: 'Which?',
  images: ['a.png', 'b.png'],
  fields: { preferred: { type: 'enum', values: ['A', 'B', 'same'] } },
  meta: { arms },
});
const summaryTask = (id: string, label: string): Task => ({
  id,
  kind: 'summary',
  prompt: 'Same part? Name it.',
  images: ['a.png', 'b.png'],
  fields: { same: { type: 'enum', values: ['yes', 'no'] }, name: { type: 'string', maxLength: 40 } },
  meta: { label },
});
const ans = (participant: string, task: string, answer: Answer['answer']): Answer => ({ participant, study: 'demo', task, answer });

describe('A/B analysis', () => {
  it('maps positions back to arms and pools a pair shown both ways, with a Wilson interval', () => {
    const tasks = [abTask('t1', ['cam', 'window']), abTask('t2', ['window', 'cam'])];
    const answers = [
      ans('p1', 't1', { preferred: 'A' }), // cam
      ans('p2', 't1', { preferred: 'B' }), // window
      ans('p3', 't1', { preferred: 'same' }),
      ans('p1', 't2', { preferred: 'B' }), // cam
      ans('p2', 't2', { preferred: 'B' }), // cam
    ];
    const [perTask, preference] = abAnalysis.tables('demo', tasks, answers, new Rng(0));
    expect(perTask.rows).toEqual([
      { task: 't1', arm1: 'cam', arm2: 'window', answers: 3, prefer1: 1, prefer2: 1, undecided: 1 },
      { task: 't2', arm1: 'window', arm2: 'cam', answers: 2, prefer1: 0, prefer2: 2, undecided: 0 },
    ]);
    const iv = wilsonInterval(3, 4, 0.95, 'decisive answers');
    expect(preference.rows).toEqual([
      {
        first: 'cam',
        second: 'window',
        tasks: 2,
        decisive: 4,
        preferFirst: 3,
        preferSecond: 1,
        undecided: 1,
        shareFirst: 0.75,
        low: Number(iv.low.toFixed(4)),
        high: Number(iv.high.toFixed(4)),
        interval: '95% over decisive answers (Wilson)',
      },
    ]);
  });

  it('reads a left/right choice with the arms in meta.left and meta.right (the country-crops layout)', () => {
    const task: Task = {
      ...abTask('c1', ['x', 'y']),
      fields: { choice: { type: 'enum', values: ['left', 'right'] }, sure: { type: 'integer', min: 1, max: 3 } },
      meta: { left: 'window', right: 'cam' },
    };
    const answers = [ans('p1', 'c1', { choice: 'right', sure: 1 }), ans('p2', 'c1', { choice: 'right', sure: 2 })];
    const [perTask, preference] = abAnalysis.tables('demo', [task], answers, new Rng(0));
    expect(perTask.rows).toEqual([{ task: 'c1', arm1: 'window', arm2: 'cam', answers: 2, prefer1: 0, prefer2: 2, undecided: 0 }]);
    expect(preference.rows[0]).toMatchObject({ first: 'cam', second: 'window', preferFirst: 2, preferSecond: 0 });
  });

  it('says what an ab task lacks', () => {
    const t = abTask('t1', ['a', 'b']);
    const lacks = (task: Task) => () => abAnalysis.tables('demo', [task], [], new Rng(0));
    expect(lacks({ ...t, meta: {} })).toThrow('ab task t1 needs meta.arms = [arm of image 1, arm of image 2] or meta.A and meta.B');
    expect(lacks({ ...t, images: ['a.png'] })).toThrow('ab task t1 has 1 images, expected 2');
    const two = { ...t, fields: { ...t.fields, other: { type: 'enum' as const, values: ['x', 'y'] } } };
    expect(lacks(two)).toThrow('needs one enum field for the choice, or meta.field naming it (enums: preferred, other)');
    expect(() => abAnalysis.tables('demo', [{ ...two, meta: { arms: ['a', 'b'], field: 'preferred' } }], [], new Rng(0))).not.toThrow();
  });
});

describe('summary analysis', () => {
  it('agreement, modal name, naming consistency and kappa, by hand', () => {
    const tasks = [summaryTask('s1', 'wheel'), summaryTask('s2', 'beak'), summaryTask('s3', 'sky')];
    const answers = [
      ans('p1', 's1', { same: 'yes', name: 'Wheel' }),
      ans('p2', 's1', { same: 'yes', name: ' wheel. ' }),
      ans('p3', 's1', { same: 'no', name: 'tyre' }),
      ans('p1', 's2', { same: 'no', name: 'beak' }),
      ans('p2', 's2', { same: 'no', name: '' }),
      ans('p3', 's2', { same: 'no', name: 'bird head' }),
      ans('p1', 's3', { same: 'yes', name: 'sky' }),
      ans('p2', 's3', { same: 'yes', name: 'sky' }),
      ans('p3', 's3', { same: 'yes', name: 'clouds' }),
    ];
    const [perTask, overall] = summaryAnalysis.tables('demo', tasks, answers, new Rng(0));
    expect(
      perTask.rows.map((r) => [r.task, r.label, r.raters, r['answered yes'], r.agreement, r.topName, r.namingConsistency, r.distinctNames]),
    ).toEqual([
      ['s1', 'wheel', 3, 2, 0.6667, 'wheel', 0.6667, 2],
      // Empty names do not count; the tie beak/bird head goes to the first in sorted order.
      ['s2', 'beak', 3, 0, 0, 'beak', 0.5, 2],
      ['s3', 'sky', 3, 3, 1, 'sky', 0.6667, 2],
    ]);
    // Kappa by hand: counts (yes, no) = (2,1), (0,3), (3,0); P_i = 1/3, 1, 1, P-bar = 7/9; p_yes = 5/9,
    // P_e = 25/81 + 16/81 = 41/81; kappa = (63/81 - 41/81) / (40/81) = 22/40 = 0.55.
    const byMeasure = Object.fromEntries(overall.rows.map((r) => [r.measure, r]));
    expect(byMeasure['agreement (mean over summaries)'].value).toBeCloseTo((2 / 3 + 0 + 1) / 3, 4);
    expect(byMeasure['naming consistency (mean over summaries)'].value).toBeCloseTo((2 / 3 + 0.5 + 2 / 3) / 3, 4);
    const kappa = byMeasure[`Fleiss' kappa of "same"`];
    expect(kappa.value).toBeCloseTo(0.55, 4);
    expect(kappa.low as number).toBeLessThanOrEqual(kappa.high as number);
    expect(kappa.interval).toBe('95% over summaries (bootstrap, 2000 resamples)');
  });

  it('says that kappa needs two summaries with two or more raters instead of leaving it out', () => {
    const answers = [
      ans('p1', 's1', { same: 'yes', name: 'a' }),
      ans('p1', 's2', { same: 'no', name: 'b' }),
      ans('p2', 's2', { same: 'no', name: 'b' }),
    ];
    const [, overall] = summaryAnalysis.tables('demo', [summaryTask('s1', 'a'), summaryTask('s2', 'b')], answers, new Rng(0));
    expect(overall.rows[2]).toMatchObject({
      measure: `Fleiss' kappa of "same" (needs 2 summaries with 2+ raters)`,
      value: NaN,
      summaries: 1,
      low: '',
    });
  });

  it('averages integer fields and repeats the overall rows per meta.group (e.g. per architecture)', () => {
    const t = (id: string, group: string): Task => ({
      ...summaryTask(id, id),
      fields: { ...summaryTask(id, id).fields, clarity: { type: 'integer', min: 1, max: 5 } },
      meta: { group },
    });
    const answers = [
      ans('p1', 'a1', { same: 'yes', name: 'x', clarity: 5 }),
      ans('p2', 'a1', { same: 'yes', name: 'x', clarity: 3 }),
      ans('p1', 'a2', { same: 'no', name: 'y', clarity: 1 }),
      ans('p1', 'b1', { same: 'no', name: 'z', clarity: 2 }),
    ];
    const [perTask, overall] = summaryAnalysis.tables('demo', [t('a1', 'vgg'), t('a2', 'vgg'), t('b1', 'resnet')], answers, new Rng(0));
    expect(perTask.rows.map((r) => [r.task, r.group, r['mean clarity']])).toEqual([
      ['a1', 'vgg', 4],
      ['a2', 'vgg', 1],
      ['b1', 'resnet', 2],
    ]);
    const value = (group: string, measure: string) => overall.rows.find((r) => r.group === group && r.measure === measure)?.value;
    // Means over summaries: clarity (4 + 1 + 2) / 3 overall, (4 + 1) / 2 for vgg, 2 for resnet; agreement 1, 0, 0.
    expect(value('all', 'clarity (mean over summaries)')).toBeCloseTo(7 / 3, 4);
    expect(value('vgg', 'clarity (mean over summaries)')).toBe(2.5);
    expect(value('resnet', 'clarity (mean over summaries)')).toBe(2);
    expect(value('vgg', 'agreement (mean over summaries)')).toBe(0.5);
    expect(value('resnet', 'agreement (mean over summaries)')).toBe(0);
    expect(overall.rows.map((r) => r.group)).toEqual([
      'all',
      'all',
      'all',
      'all',
      'resnet',
      'resnet',
      'resnet',
      'resnet',
      'vgg',
      'vgg',
      'vgg',
      'vgg',
    ]);
  });

  it('normalises names for comparison', () => {
    expect(normaliseName('  The  Wheel!! ')).toBe('the wheel');
    expect(normaliseName('"beak"')).toBe('beak');
  });
});

describe('analyzeAnswers', () => {
  const tasks = [
    abTask('t1', ['x', 'y']),
    summaryTask('s1', 'a'),
    {
      ...summaryTask('r1', 'a'),
      kind: 'rating',
      fields: { score: { type: 'integer' as const, min: 1, max: 5 }, ok: { type: 'enum' as const, values: ['y', 'n'] } },
    },
  ];

  it('gives an overview, each kind its tables and other kinds counts; same seed, same tables', () => {
    const answers = [
      ans('p1', 't1', { preferred: 'A' }),
      ans('p1', 's1', { same: 'yes', name: 'a' }),
      ans('p2', 's1', { same: 'yes', name: 'a' }),
      ans('p1', 'r1', { score: 2, ok: 'y' }),
      ans('p2', 'r1', { score: 5, ok: 'y' }),
    ];
    const tables = analyzeAnswers({ study: 'demo', tasks }, answers, new Rng(3));
    expect(tables.map((t) => t.name)).toEqual([
      'overview',
      'ab-per-task',
      'ab-preference',
      'summary-per-task',
      'summary-overall',
      'counts',
    ]);
    expect(tables[0].rows).toEqual([
      { kind: 'ab', tasks: 1, answers: 1, participants: 1 },
      { kind: 'rating', tasks: 1, answers: 2, participants: 2 },
      { kind: 'summary', tasks: 1, answers: 2, participants: 2 },
    ]);
    expect(tables[5].rows).toEqual([
      { task: 'r1', kind: 'rating', field: 'score', value: 'mean', count: 2, mean: 3.5 },
      { task: 'r1', kind: 'rating', field: 'ok', value: 'y', count: 2 },
      { task: 'r1', kind: 'rating', field: 'ok', value: 'n', count: 0 },
    ]);
    expect(analyzeAnswers({ study: 'demo', tasks }, answers, new Rng(3))).toEqual(tables);
  });

  it('refuses answers to tasks that are not in the set', () => {
    expect(() => analyzeAnswers({ study: 'demo', tasks }, [ans('p1', 'zz', { preferred: 'A' })], new Rng(0))).toThrow(
      'demo/zz, which is not a task of this set',
    );
  });
});

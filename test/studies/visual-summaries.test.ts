import { Box } from '../../lib/analysis/hog';
import { Rng } from '../../lib/util/rng';
import { CLAIM_RULES, VISUAL_SUMMARIES_CONFIGS } from '../../lib/studies/visual-summaries/config';
import { largeComponents, pruneRedundant, purityOf, Summary } from '../../lib/studies/visual-summaries/summaries';
import { simulatedAnswer, StudyAnswer, summaryTask, userStudyTables } from '../../lib/studies/visual-summaries/userstudy';
import { SCALES } from '../../lib/studies/types';

describe('visual-summaries config', () => {
  it.each(SCALES)('%s: at least three architectures, valid classes, the reference clustering values', (scale) => {
    const c = VISUAL_SUMMARIES_CONFIGS[scale];
    expect(c.architectures.length).toBeGreaterThanOrEqual(3);
    expect(new Set(c.architectures.map((a) => a.key)).size).toBe(c.architectures.length);
    expect(c.classes.every((k) => k >= 0 && k < 10)).toBe(true);
    expect(c.clustering).toEqual({ damping: 0.9, maxIts: 1000, convIts: 100, preferenceFactor: 1.3 });
    expect(c.pruning.inside).toBe(0.75);
  });
  it('claim rules are fixed numbers', () => {
    expect(CLAIM_RULES).toEqual({ maxArea: 0.25, minDrop: 0.5, purityMargin: 0, moreSummaries: 0, accuracyGap: 0.1 });
  });
});

describe('regions', () => {
  it('keeps 8-connected components of at least minPixels', () => {
    // 4x4: a diagonal pair (one 8-connected component of 2) and a lone pixel far away.
    const b = Uint8Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(Array.from(largeComponents(b, 4, 4, 2))).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(largeComponents(b, 4, 4, 1))).toEqual(Array.from(b));
  });

  it('prunes redundant proposals as the reference: same region = Min-overlap >= 0.5 and area ratio < 2; the best score stays first', () => {
    const boxes: Box[] = [
      [0, 0, 10, 10], // 0
      [1, 1, 11, 11], // 1: same region as 0 (overlap 81/100, same area), better score
      [0, 0, 20, 20], // 2: contains 0 but 4x larger: kept
      [30, 30, 40, 40], // 3: elsewhere
    ];
    const score = (p: number) => [0.1, 0.9, 0.5, 0.2][p];
    // The walk as in compute_clusters.m: [0,1,2,3] -> (0 ~ 1, 1 wins) [1,2,3] -> (2 alone) [2,1,3] -> (3 alone) [3,2,1].
    expect(pruneRedundant([0, 1, 2, 3], boxes, score, 0.5, 2)).toEqual([3, 2, 1]);
  });

  it('purity is the share of the most common part (ties: lower label)', () => {
    expect(purityOf([3, 3, 4, 3])).toEqual({ purity: 0.75, part: 3 });
    expect(purityOf([5, 2])).toEqual({ purity: 0.5, part: 2 });
  });
});

describe('user study', () => {
  const summary = (parts: number[]): Summary => ({
    members: parts.map((part, i) => ({ image: i, box: [0, 0, 4, 4], part, partShare: 1 })),
    medianSsim: 0.5,
    purity: purityOf(parts).purity,
    part: purityOf(parts).part,
    chancePurity: 0.3,
  });
  const names = ['head', 'beak', 'eye', 'body', 'wing', 'tail', 'legs'];

  it('a perfect simulated annotator answers yes, names the part, and rates clarity 5 for a pure summary', () => {
    const a = simulatedAnswer(summary([5, 5, 5, 5]), names, new Rng(0), { perception: 1, yes: 0.75, partly: 0.5 });
    expect(a).toEqual({ same: 'yes', name: 'wing', clarity: 5 });
    const b = simulatedAnswer(summary([5, 5, 1, 2]), names, new Rng(0), { perception: 1, yes: 0.75, partly: 0.5 });
    expect(b.same).toBe('partly');
    expect(simulatedAnswer(summary([5, 4, 1, 2]), names, new Rng(0), { perception: 1, yes: 0.75, partly: 0.5 }).same).toBe('no');
  });

  it('builds the per-architecture table from answers in the web app shape', () => {
    const tasks = [
      summaryTask('a-1', ['x.png'], { label: 'A 1', architecture: 'A', class: 'c' }),
      summaryTask('a-2', ['y.png'], { label: 'A 2', architecture: 'A', class: 'c' }),
    ];
    const answers: StudyAnswer[] = [
      { participant: 'p1', study: 's', task: 'a-1', answer: { same: 'yes', name: 'Wing', clarity: 5 } },
      { participant: 'p2', study: 's', task: 'a-1', answer: { same: 'yes', name: 'wing ', clarity: 3 } },
      { participant: 'p1', study: 's', task: 'a-2', answer: { same: 'no', name: 'tail', clarity: 1 } },
      { participant: 'p2', study: 's', task: 'a-2', answer: { same: 'yes', name: 'beak', clarity: 2 } },
    ];
    const tables = userStudyTables('s', tasks, answers, new Rng(1), false);
    expect(tables.map((t) => t.name)).toEqual(['user-study-overview', 'user-study-summary-per-task', 'user-study-summary-overall']);
    expect(tables[1].rows.map((r) => [r.group, r.agreement, r.namingConsistency, r['mean clarity']])).toEqual([
      ['A', 1, 1, 4],
      ['A', 0.5, 0.5, 1.5],
    ]);
    // Overall and per architecture: agreement (1 + 0.5) / 2, naming consistency (1 + 0.5) / 2.
    const overall = tables[2].rows.filter((r) => String(r.measure).startsWith('agreement') || String(r.measure).startsWith('naming'));
    expect(overall.map((r) => [r.group, r.value])).toEqual([
      ['all', 0.75],
      ['all', 0.75],
      ['A', 0.75],
      ['A', 0.75],
    ]);
    expect(tables.every((t) => !/SIMULATED/.test(t.caption))).toBe(true);
    expect(userStudyTables('s', tasks, answers, new Rng(1), true).every((t) => t.caption.startsWith('SIMULATED'))).toBe(true);
  });
});

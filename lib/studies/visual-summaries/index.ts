import * as fs from 'fs';
import * as path from 'path';
import { encodePng } from '../../plot/images';
import { panelRaster } from '../../plot/panels';
import { writeFileAtomic, writeJsonAtomic } from '../../util/atomic';
import type { Figure, Study, StudyContext, StudyOutput, Table } from '../types';
import { summaryClaims } from './claims';
import { CLAIM_RULES } from './config';
import * as figures from './figures';
import { computeMasks, MaskResults } from './masks';
import { computeProposals, ProposalResults } from './proposals';
import { ArchitectureSummaries, maskRows, summarise, summaryTable } from './results';
import { dispose, prepare, selectImages, Selection, Session } from './session';
import { simulatedAnswer, StudyAnswer, summaryTask, SummaryTask, userStudyTables } from './userstudy';

/**
 * Visual summaries (Carletti, Godi, Aghaei & Cristani, "Understanding Deep Architectures by Visual Summaries",
 * BMVC 2018, arXiv 1801.09103) on the parts-birds world: crisp masks of three architectures of different accuracy,
 * Selective Search proposals inside the masks, Proposal Flow LOM similarities, affinity propagation, SSIM cleaning;
 * summaries per class against accuracy, part purity against the ground truth, a user-study task set with simulated
 * annotators. The notebook (notebooks/02-visual-summaries.ipynb) calls the steps one cell at a time; `run()` calls
 * the same steps in order.
 */

/** The proposals of every image any architecture explains (Selective Search does not depend on the architecture). */
export function proposalsFor(s: Session, sel: Selection): ProposalResults {
  const indices = [...new Set(sel.images.flat(2))].sort((a, b) => a - b);
  return computeProposals(s, indices);
}

/** The user-study task set (one task per summary, its members as PNGs) and the simulated annotators' answers. */
export async function userStudy(
  s: Session,
  results: readonly ArchitectureSummaries[],
): Promise<{ tasks: SummaryTask[]; answers: StudyAnswer[]; images: Map<string, Uint8Array> }> {
  const { userStudy: u } = s.config;
  const tasks: SummaryTask[] = [];
  const images = new Map<string, Uint8Array>();
  const byTask = new Map<string, ArchitectureSummaries['classes'][number]['summaries'][number]>();
  for (const r of results) {
    const all = r.classes.flatMap((c) => c.summaries.map((sm, k) => ({ c, sm, k })));
    for (const { c, sm, k } of all.slice(0, u.summariesPerArchitecture)) {
      const id = `${r.key}-c${c.label}-s${k}`;
      const files: string[] = [];
      for (const [j, m] of sm.members.entries()) {
        const file = `images/${id}-m${j}.png`;
        images.set(file, await encodePng(panelRaster([[figures.memberCell(s, m, c.regionMasks.get(m.image)!)]], 4, 0).raster));
        files.push(file);
      }
      tasks.push(
        summaryTask(id, files, {
          label: `${r.label}, ${s.test.classNames[c.label]}, summary ${k + 1}`,
          architecture: r.label,
          class: s.test.classNames[c.label],
        }),
      );
      byTask.set(id, sm);
    }
  }
  const names = s.test.truth.partNames ?? [];
  const rng = s.rng.fork('annotators');
  const answers: StudyAnswer[] = [];
  for (let a = 0; a < u.annotators; a++) {
    const who = rng.fork(a);
    for (const t of tasks)
      answers.push({
        participant: `simulated-${a + 1}`,
        study: s.ctx.study,
        task: t.id,
        answer: simulatedAnswer(byTask.get(t.id)!, names, who, { perception: u.perception, yes: u.samePartYes, partly: u.samePartPartly }),
      });
  }
  return { tasks, answers, images };
}

/** Writes the task set for the web app (<out>/user-study/tasks.json + images) and the simulated answers beside it. */
export function writeUserStudy(
  ctx: StudyContext,
  study: { tasks: SummaryTask[]; answers: StudyAnswer[]; images: Map<string, Uint8Array> },
): string {
  const dir = path.join(ctx.out, 'user-study');
  for (const [rel, png] of study.images) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileAtomic(path.join(dir, rel), png);
  }
  writeJsonAtomic(path.join(dir, 'simulated-answers.json'), {
    note: 'SIMULATED annotators answering from the ground-truth part maps, not people',
    answers: study.answers,
  });
  writeJsonAtomic(path.join(dir, 'tasks.json'), {
    study: ctx.study,
    title: 'Visual summaries: do these regions show the same part?',
    tasks: study.tasks,
  });
  return dir;
}

/** Figures of the study from its results. */
export async function studyFigures(s: Session, results: readonly ArchitectureSummaries[]): Promise<Figure[]> {
  const table = summaryTable(results);
  const best = results[results.length - 1];
  const out: Figure[] = [
    {
      name: 'masks',
      caption: `Smooth (stage 1) and crisp (stage 2) masks of ${best.label} with the probability drop and perturbed area of each.`,
      spec: await figures.maskFigure(s, best, 5),
    },
    {
      name: 'summaries-vs-accuracy',
      caption: 'Mean summaries per class (+- sd over classes) against test accuracy, with the ablation similarity.',
      spec: figures.countsFigure(table),
    },
    {
      name: 'purity',
      caption: 'Part purity of the summaries against the chance purity of same-size random groups of candidate regions.',
      spec: figures.purityFigure(table),
    },
  ];
  for (const r of results)
    out.push({
      name: `summaries-${r.key}`,
      caption: `Summaries of ${r.label} (Proposal Flow).`,
      spec: await figures.summariesFigure(s, r, 'classes', 10, 8),
    });
  out.push({
    name: `summaries-ablation-${best.key}`,
    caption: `Summaries of ${best.label} with the ablation similarity.`,
    spec: await figures.summariesFigure(s, best, 'ablation', 10, 8),
  });
  return out;
}

/** The study's output (results.json, claims, figures, tables). */
export async function output(
  s: Session,
  results: ArchitectureSummaries[],
  study: { tasks: SummaryTask[]; answers: StudyAnswer[] },
): Promise<StudyOutput> {
  const table = summaryTable(results);
  const tables: Table[] = [
    {
      name: 'summaries-per-architecture',
      caption: "Summaries per class per architecture with test accuracy (the paper's table), purity, and the ablation.",
      rows: table,
    },
    ...userStudyTables(s.ctx.study, study.tasks, study.answers, s.rng.fork('user-study-intervals'), true),
    { name: 'masks', caption: 'Mask statistics per explained image (drop, area, normalised score, score).', rows: maskRows(results) },
  ];
  return {
    results: {
      scale: s.ctx.scale,
      seed: s.ctx.seed,
      backend: s.engine.backend,
      config: s.config,
      rules: CLAIM_RULES,
      architectures: s.architectures.map((a) => ({
        key: a.plan.key,
        label: a.plan.label,
        params: a.params,
        accuracy: a.accuracy,
        accuracyInterval: a.accuracyInterval,
        trainSeconds: a.trainSeconds,
        fromCache: a.fromCache,
      })),
      table,
      userStudy: tables[1].rows,
      seconds: s.seconds,
    },
    claims: summaryClaims(s, results, s.rng.fork('claims')),
    figures: await studyFigures(s, results),
    tables,
  };
}

/** The whole study, step by step. */
export async function runVisualSummaries(ctx: StudyContext): Promise<StudyOutput> {
  const s = await prepare(ctx);
  try {
    const sel = selectImages(s);
    const masks: MaskResults = computeMasks(s, sel);
    const props = proposalsFor(s, sel);
    const results = summarise(s, sel, masks, props);
    const study = await userStudy(s, results);
    writeUserStudy(ctx, study);
    return await output(s, results, study);
  } finally {
    dispose(s);
  }
}

/** The steps for the notebook, in order: prepare, selectImages, masks, proposals, summarise, userStudy, writeUserStudy, output. */
export const visualSummariesSteps = {
  prepare,
  selectImages,
  masks: computeMasks,
  proposals: proposalsFor,
  summarise,
  userStudy,
  writeUserStudy,
  output,
  summaryTable,
  figures,
  dispose,
};

export const study: Study = {
  name: 'visual-summaries',
  title: 'Visual summaries: clusters of crisp salient regions per class',
  paper: 'Carletti, Godi, Aghaei & Cristani, "Understanding Deep Architectures by Visual Summaries", BMVC 2018 (arXiv 1801.09103)',
  summary:
    'Crisp perturbation masks, Selective Search proposals inside them, Proposal Flow similarities and affinity propagation give ' +
    'per-class visual summaries for three CNNs of different accuracy on the parts-birds world: summaries per class against ' +
    'accuracy, part purity against the ground truth, and a user-study task set with simulated annotators.',
  notebook: 'notebooks/02-visual-summaries.ipynb',
  run: runVisualSummaries,
};

export { VISUAL_SUMMARIES_CONFIGS, CLAIM_RULES } from './config';
export type { VisualSummariesConfig } from './config';
export type { ArchitectureSummaries } from './results';
export type { Session } from './session';

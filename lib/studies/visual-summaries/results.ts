import { Progress } from '../../util/progress';
import type { Interval } from '../types';
import { featureSimilarity } from './ablation';
import type { ExplainedImage, MaskResults } from './masks';
import type { ProposalResults, PairSimilarity } from './proposals';
import { flowSimilarity } from './proposals';
import type { Selection, Session } from './session';
import { timed } from './session';
import { ClassSummaries, summariseClass } from './summaries';

/** Everything measured for one architecture: accuracy, masks, and per class the summaries (Proposal Flow and ablation). */
export interface ArchitectureSummaries {
  key: string;
  label: string;
  accuracy: number;
  accuracyInterval: Interval;
  predictions: number[];
  masks: ExplainedImage[];
  classes: ClassSummaries[];
  /** The same pipeline with the cheaper similarity (CNN features of the boxes + relative position). */
  ablation: ClassSummaries[];
}

/** Summaries of every class for every architecture, with Proposal Flow and with the ablation's similarity. */
export function summarise(s: Session, sel: Selection, masks: MaskResults, props: ProposalResults): ArchitectureSummaries[] {
  const flow = flowSimilarity(s, props);
  // One tick per architecture, class and similarity: the Proposal Flow registrations of a class's image pairs run
  // inside its first tick (then they are cached for the other architectures).
  const bar = new Progress('summaries (image pairs, clustering)', s.architectures.length * s.config.classes.length * 2);
  const out = s.architectures.map((a, ai) => {
    const perClass = masks.images[ai];
    const run = (name: string, sim: PairSimilarity) =>
      timed(s, `summaries-${name}`, () =>
        perClass.map((imgs, ci) => {
          const r = summariseClass(s, imgs, props, sim, s.rng.fork(`${a.plan.key}/${name}/${ci}`));
          bar.tick(1, `${flow.registrations()} registrations`);
          return r;
        }),
      );
    const classes = run('flow', flow.similarity);
    const ablation = run('ablation', featureSimilarity(s, a, props, sel.images[ai].flat()));
    return {
      key: a.plan.key,
      label: a.plan.label,
      accuracy: a.accuracy,
      accuracyInterval: a.accuracyInterval,
      predictions: a.predictions,
      masks: perClass.flat(),
      classes,
      ablation,
    };
  });
  bar.finish();
  return out;
}

const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);
const sd = (v: number[]) => {
  const m = mean(v);
  return v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : NaN;
};
const r3 = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(3)) : NaN);

/** The paper's table: per architecture, accuracy and mean (sd) summaries per class, with purity and the ablation. */
export function summaryTable(results: readonly ArchitectureSummaries[]) {
  return results.map((r) => {
    const counts = r.classes.map((c) => c.summaries.length);
    const abl = r.ablation.map((c) => c.summaries.length);
    const sums = r.classes.flatMap((c) => c.summaries);
    const ablSums = r.ablation.flatMap((c) => c.summaries);
    return {
      architecture: r.label,
      accuracy: r3(r.accuracy),
      accuracyLow: r3(r.accuracyInterval.low),
      accuracyHigh: r3(r.accuracyInterval.high),
      classes: counts.length,
      summariesPerClass: r3(mean(counts)),
      summariesSd: r3(sd(counts)),
      clustersPerClass: r3(mean(r.classes.map((c) => c.clusters))),
      candidatesPerClass: r3(mean(r.classes.map((c) => c.candidates))),
      purity: r3(mean(sums.map((x) => x.purity))),
      chancePurity: r3(mean(sums.map((x) => x.chancePurity))),
      ablationSummariesPerClass: r3(mean(abl)),
      ablationPurity: r3(mean(ablSums.map((x) => x.purity))),
      meanMaskArea: r3(mean(r.masks.map((m) => m.crispStats.area))),
      meanDrop: r3(mean(r.masks.map((m) => m.crispStats.drop))),
    };
  });
}

/** Mask statistics of every explained image (results.json). */
export function maskRows(results: readonly ArchitectureSummaries[]) {
  return results.flatMap((r) =>
    r.masks.map((m) => ({
      architecture: r.key,
      image: m.index,
      label: m.label,
      p0: r3(m.p0),
      pBlur: r3(m.pBlur),
      smoothDrop: r3(m.smoothStats.drop),
      smoothArea: r3(m.smoothStats.area),
      crispDrop: r3(m.crispStats.drop),
      crispArea: r3(m.crispStats.area),
      crispNormalisedScore: r3(m.crispStats.normalisedScore),
      crispScore: r3(m.crispStats.score),
    })),
  );
}

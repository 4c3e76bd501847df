import { verdictFromInterval } from '../../analysis/intervals';
import type { Claim, Interval, Verdict } from '../types';
import type { AccuracyResult } from './accuracy';
import { CLAIM_RULES } from './config';
import { GalleriesResult, SOURCE_LABEL } from './galleries';
import type { DetailResult, MapsResult } from './maps';

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const pts = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)} points`;
const iv = (i: Interval, f: (v: number) => string) => `[${f(i.low)}, ${f(i.high)}]`;

function claim(c: Omit<Claim, 'pass'> & { verdict: Verdict }): Claim {
  return { ...c, pass: c.verdict === 'holds' };
}

/** A claim that needs ground truth on data without it: inconclusive, saying why. */
function noTruth(id: string, text: string, paper: string, kind: Claim['kind']): Claim {
  return claim({
    id,
    claim: text,
    paper,
    measured: 'not measurable: the data has no ground-truth cue maps (an ImageFolder)',
    details: 'needs the facades world',
    verdict: 'inconclusive',
    kind,
  });
}

/** The claims, each decided by its rule in CLAIM_RULES (fixed before the run). */
export function countryCropsClaims(acc: AccuracyResult, m: MapsResult, d: DetailResult | null, g: GalleriesResult): Claim[] {
  const R = CLAIM_RULES;
  const claims: Claim[] = [];
  const small = acc.models[0];
  const large = acc.models.filter((x) => !x.whole).slice(-1)[0];
  claims.push(
    claim({
      id: 'smaller-crops-lower-accuracy',
      claim: 'Models trained on smaller crops are less accurate (on crops of their size)',
      paper: 'the post: "the smaller the crop, the lower the accuracy" (no numbers given)',
      measured:
        `${small.label} ${pct(small.cropAccuracy)}, ${large.label} ${pct(large.cropAccuracy)}; difference ` +
        `${pts(acc.gain.value)} ${iv(acc.gain.interval, pts)}`,
      details:
        `holds when the 95% bootstrap interval (over test images, crops paired by centre) of accuracy(${large.crop} px) ` +
        `- accuracy(${small.crop} px) lies above ${R.accuracyGain}`,
      verdict: verdictFromInterval(acc.gain.interval, R.accuracyGain, 'above'),
      kind: 'paper',
      interval: acc.gain.interval,
    }),
  );
  claims.push(
    d
      ? claim({
          id: 'smaller-crops-concentrate-on-details',
          claim: 'The smallest-crop model puts more of its CAM evidence on the class cues than the whole-image model',
          paper: 'the post: smaller crops give "more attention to details" (masonry, patterns, roofs, plants); qualitative',
          measured:
            `${d.models.map((x) => `${x.label} ${pct(x.share)}`).join(', ')}; smallest - whole ${pts(d.gain.value)} ` +
            `${iv(d.gain.interval, pts)}`,
          details:
            `share of positive CAM mass (true class, whole image) on signature-cue pixels, paired by image; holds when ` +
            `the 95% bootstrap interval of smallest - whole lies above ${R.detailGain}`,
          verdict: verdictFromInterval(d.gain.interval, R.detailGain, 'above'),
          kind: 'paper',
          interval: d.gain.interval,
        })
      : noTruth(
          'smaller-crops-concentrate-on-details',
          'Smaller crops concentrate CAM evidence on class cues',
          'the post: "more attention to details"',
          'paper',
        ),
  );
  claims.push(
    claim({
      id: 'cam-mean-equals-logit',
      claim: 'The spatial mean of the CAM plus the bias equals the class logit (GAP -> linear head)',
      paper: 'Zhou et al. 2016: CAM_c averages to the class score; the post relies on it to run a 160 px model on 800 px photos',
      measured: `largest relative difference ${m.camMeanError.toExponential(2)} over ${m.images.indices.length} images x every class`,
      details: `holds when max |mean(CAM_c) + b_c - logit_c| / max(1, |logit_c|) <= ${R.camMeanTolerance} (float32)`,
      verdict: m.camMeanError <= R.camMeanTolerance ? 'holds' : 'fails',
      kind: 'check',
    }),
  );
  for (const source of ['cam', 'window'] as const) {
    const a = g.aboveChance[source];
    const id = `${source === 'cam' ? 'cam' : 'window'}-crops-show-cues`;
    const text = `${SOURCE_LABEL[source]} top crops show a signature cue of their class far more often than random crops`;
    if (!a) {
      claims.push(noTruth(id, text, 'ours (the post shows the crops without a measure)', 'extension'));
      continue;
    }
    claims.push(
      claim({
        id,
        claim: text,
        paper: 'ours: the post shows that both surface country cues (brick, arches, palms), without a measure',
        measured:
          `top-${g.topN} pool ${pct(g.poolCueShare[source])} vs random ${pct(g.randomCueShare)}: ${pts(a.value)} ` +
          `${iv(a.interval, pts)}`,
        details:
          `cue share = mean share of a crop's pixels that show a signature cue value of its class; holds when the 95% ` +
          `bootstrap interval (over explained images) of pool - random lies above ${R.cueAboveChance}`,
        verdict: verdictFromInterval(a.interval, R.cueAboveChance, 'above'),
        kind: 'extension',
        interval: a.interval,
      }),
    );
  }
  const dg = g.diversityGain;
  claims.push(
    claim({
      id: 'clustering-raises-diversity',
      claim: 'Clustering the top crops gives more diverse galleries than the plain top-k',
      paper: 'the post: without clustering the top crops are near-duplicates, hence agglomerative clustering and one crop per cluster',
      measured:
        `mean pairwise feature distance, clustered - top-k: ${dg.value.toFixed(3)} [${dg.interval.low.toFixed(3)}, ` +
        `${dg.interval.high.toFixed(3)}] over ${dg.perGallery.length} galleries`,
      details:
        `diversity = mean pairwise Euclidean distance of L2-normalised GAP features; holds when the 95% bootstrap ` +
        `interval of the mean difference over (class, source) galleries lies above ${R.diversityGain}`,
      verdict: verdictFromInterval(dg.interval, R.diversityGain, 'above'),
      kind: 'paper',
      interval: dg.interval,
    }),
  );
  const w = g.windowMinusCam;
  if (!w) {
    claims.push(
      noTruth(
        'window-beats-cam',
        'The sliding window finds class cues more often than CAM',
        'the post: the sliding window found more interesting crops',
        'paper',
      ),
    );
  } else {
    const shown = (src: 'cam' | 'window') => `${pct(g.galleryCueShare[src]!.value)} ${iv(g.galleryCueShare[src]!.interval, pct)}`;
    const gal = `galleries: CAM ${shown('cam')}, window ${shown('window')}`;
    claims.push(
      claim({
        id: 'window-beats-cam',
        claim: "The sliding window's top crops show class cues more often than CAM's",
        paper:
          'the post: the simpler sliding window found more "interesting" crops than CAM (Toloka side-by-side; no numbers); ' +
          'guessed cause: CAM scores see context',
        measured:
          `top-N pools: window ${pct(g.poolCueShare.window)}, CAM ${pct(g.poolCueShare.cam)}, window - CAM ` +
          `${pts(w.value)} ${iv(w.interval, pts)}; ${gal}`,
        details:
          `holds when the 95% bootstrap interval (over explained images) of cue share(window) - cue share(CAM) lies ` +
          `above ${R.windowBeatsCam}; fails when it lies below (CAM wins); inconclusive when it straddles`,
        verdict: verdictFromInterval(w.interval, R.windowBeatsCam, 'above'),
        kind: 'paper',
        interval: w.interval,
      }),
    );
  }
  return claims;
}

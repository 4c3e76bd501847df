import { verdictFromInterval } from '../../analysis/intervals';
import type { Claim, Interval, Verdict } from '../types';
import type { AccuracyResult, CritiqueResult, DuplicateResult, PartsResult, PurityResult, PushCheck } from './analysis';
import { CLAIM_RULES } from './config';

/** The numbers of one dataset that the claims read (results.json keeps them). */
export interface ClaimInputs {
  dataset: string;
  accuracy: AccuracyResult;
  pushCheck: PushCheck;
  purity: PurityResult;
  duplicates: DuplicateResult;
  parts: PartsResult | null;
  critique: Pick<CritiqueResult, 'activationMisses' | 'rfMisses' | 'activationMissInterval' | 'rfMissInterval' | 'images'>;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const pts = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}`;
const ivPts = (iv: Interval) => `[${pts(iv.low)}, ${pts(iv.high)}]`;
const ivPct = (iv: Interval) => `[${pct(iv.low)}, ${pct(iv.high)}]`;

function claim(c: Omit<Claim, 'pass'> & { verdict: Verdict }): Claim {
  return { ...c, pass: c.verdict === 'holds' };
}

/** The claims of one dataset, each decided by its rule in CLAIM_RULES (stated in `details`). */
export function protoPNetClaims(inputs: ClaimInputs[]): Claim[] {
  const R = CLAIM_RULES;
  const claims: Claim[] = [];
  for (const r of inputs) {
    const tag = r.dataset;
    const p = r.pushCheck;
    claims.push(
      claim({
        id: `push-exact-${tag}`,
        kind: 'check',
        claim: 'After push every prototype is exactly a latent patch of a training image of its own class',
        paper: 'push sets each prototype to its nearest latent training patch of its class (Sec. 2.2, push.py)',
        measured:
          `${tag}: ${p.prototypes - p.offPatch}/${p.prototypes} prototypes at distance <= ${R.pushTolerance} from a patch of ` +
          `their class (largest ${p.maxDistance.toExponential(2)}); ${p.wrongClass} source images of another class`,
        verdict: p.offPatch === 0 && p.wrongClass === 0 ? 'holds' : 'fails',
        details:
          `holds when, recomputed after training, every prototype's nearest same-class training patch is at squared distance <= ` +
          `${R.pushTolerance} and every recorded source image is of the prototype's class`,
      }),
    );
    const final = r.accuracy.rows.find((x) => x.model === 'ProtoPNet after last layer')!;
    const base = r.accuracy.rows[0];
    const d = final.vsBaseline!;
    claims.push(
      claim({
        id: `accuracy-near-baseline-${tag}`,
        kind: 'paper',
        claim: `ProtoPNet's accuracy is within ${R.baselineMargin * 100} points of the same backbone without prototypes`,
        paper: 'CUB-200-2011 Table 1: within about 3.5 points (VGG-19 78.0 vs 75.1; ResNet-152 78.0 vs 81.5) [mem; VGG-19 78.0 verified]',
        measured:
          `${tag}: ProtoPNet ${pct(final.accuracy)} vs baseline ${pct(base.accuracy)}: ${pts(d.difference)} points, 95% CI ` +
          `${ivPts(d.interval)}`,
        verdict: verdictFromInterval(d.interval, -R.baselineMargin, 'above'),
        interval: d.interval,
        details:
          `holds when the paired bootstrap interval of (ProtoPNet after the last-layer stage - baseline) accuracy lies above ` +
          `-${R.baselineMargin}; fails when it lies at or below; inconclusive when it straddles`,
      }),
    );
    const rec = r.accuracy.recovery;
    claims.push(
      claim({
        id: `push-drop-recovered-${tag}`,
        kind: 'paper',
        claim: 'The accuracy lost at push is recovered by the last-layer stage',
        paper:
          'push costs little accuracy, and optimising the last layer restores it (Sec. 2.2; the reference trains the last layer 20 ' +
          'epochs after every push)',
        measured: `${tag}: after last layer - before push ${pts(rec.difference)} points, 95% CI ${ivPts(rec.interval)}`,
        verdict: verdictFromInterval(rec.interval, -R.recoveryMargin, 'above'),
        interval: rec.interval,
        details:
          `holds when the paired bootstrap interval of (after the last-layer stage - before the last push) accuracy lies above ` +
          `-${R.recoveryMargin}`,
      }),
    );
    const pu = r.purity;
    claims.push(
      claim({
        id: `nearest-patch-purity-${tag}`,
        kind: 'paper',
        claim: "A prototype's nearest training patches come mostly from its own class",
        paper:
          "Fig. 4 / global analysis: a prototype's nearest training patches show the same part of the same class; pruning removes " +
          'prototypes with < 3 of 6',
        measured:
          `${tag}: mean share of own class among the ${pu.k} nearest patches ${pct(pu.mean)}, 95% CI ${ivPct(pu.interval)}; ` +
          `nearest prototype of a test image of its class: ${pu.nearestPrototypeHits}/${pu.testImages}`,
        verdict: verdictFromInterval(pu.interval, R.purityThreshold, 'above'),
        interval: pu.interval,
        details:
          `holds when the bootstrap interval (over prototypes) of the mean own-class share of the k nearest patches lies above ` +
          `${R.purityThreshold} (the pruning rule's tau/k)`,
      }),
    );
    const du = r.duplicates;
    claims.push(
      claim({
        id: `few-duplicates-${tag}`,
        kind: 'extension',
        claim: `Few prototypes collapse onto the same patch (at most ${R.duplicateShare * 100}%)`,
        paper:
          'not in the paper; prototype collapse is a known failure of ProtoPNet (all prototypes of a class identical, seen on CIFAR-10)',
        measured:
          `${tag}: ${du.duplicates}/${du.prototypes} prototypes have an identical twin (${du.groups.length} groups), 95% CI ` +
          `${ivPct(du.interval)}`,
        verdict: verdictFromInterval(du.interval, R.duplicateShare, 'below'),
        interval: du.interval,
        details:
          `holds when the Wilson interval of the share of prototypes with a twin (squared distance <= ${R.duplicateTolerance}) ` +
          `lies below ${R.duplicateShare}`,
      }),
    );
    if (r.parts) {
      const lift = r.parts.activationLift;
      claims.push(
        claim({
          id: `boxes-on-discriminative-parts-${tag}`,
          kind: 'extension',
          claim: "High-activation boxes of pushed prototypes cover the class's discriminative parts more than chance",
          paper: 'qualitative in the paper (prototypes show bird parts: heads, wings); here checked against ground-truth parts',
          measured:
            `${tag}: share of the 95th-percentile box on discriminative parts minus the image's share ${pts(lift.mean)} points, 95% CI ` +
            `${ivPts(lift.interval)}; ` +
            `receptive-field boxes ${pts(r.parts.rfLift.mean)} points, 95% CI ${ivPts(r.parts.rfLift.interval)}`,
          verdict: verdictFromInterval(lift.interval, 0, 'above'),
          interval: lift.interval,
          details:
            "holds when the bootstrap interval (over prototypes) of (box share on the class's discriminative parts - whole-image share) " +
            'lies above 0',
        }),
      );
    }
    const c = r.critique;
    claims.push(
      claim({
        id: `upsampled-maps-unfaithful-${tag}`,
        kind: 'extension',
        claim:
          `Upsampled activation maps are not faithful: the 95th-percentile box misses the occlusion peak of the prototype's ` +
          `similarity in more than ${R.criticMissRate * 100}% of images`,
        paper:
          'the critique (Hoffmann et al. 2021 "This looks like that... because"; Xu-Darme et al. 2023 "Sanity checks for patch ' +
          'visualisation")',
        measured:
          `${tag}: box misses ${c.activationMisses}/${c.images.length}, 95% CI ${ivPct(c.activationMissInterval)}; ` +
          `receptive-field box of the most similar cell misses ${c.rfMisses}/${c.images.length}, 95% CI ${ivPct(c.rfMissInterval)}`,
        verdict: verdictFromInterval(c.activationMissInterval, R.criticMissRate, 'above'),
        interval: c.activationMissInterval,
        details:
          `holds when the Wilson interval of the share of test images whose strongest occlusion window centre lies outside the ` +
          `95th-percentile box lies above ${R.criticMissRate}`,
      }),
    );
  }
  return claims;
}

import { METHODS } from '../../lib/explain/index';
import { scoresClaims } from '../../lib/studies/scores/claims';
import { SCORES_CONFIGS } from '../../lib/studies/scores/config';
import { imagesFor, methodOptions, methodProblem } from '../../lib/studies/scores/maps';
import type { ScoredModel } from '../../lib/studies/scores/session';
import type { CellValues, TableResult } from '../../lib/studies/scores/table';
import { SCALES } from '../../lib/studies/types';
import { Rng } from '../../lib/util/rng';

/** The scores study's pieces that need no trained model: config, method choice, the claims' rules on made-up cells. */

const n = 20;
const jitter = (base: number, k: number) => Array.from({ length: n }, (_, i) => base + ((i % 5) - 2) * k);

function cell(model: string, method: string, metric: string, values: number[], chance: number[] | null = null): CellValues {
  return { dataset: 'parts-birds', model, method, metric, values, chance };
}

/** A table where the rules' answers are known: saliency changes, gradient x input keeps its map, CAM localises, ... */
function table(): TableResult {
  const cells: CellValues[] = [
    cell('resnet', 'saliency', 'randomisation', jitter(0.1, 0.02)),
    cell('resnet', 'gradient-x-input', 'randomisation', jitter(0.9, 0.02)),
    cell('resnet', 'integrated-gradients', 'randomisation', jitter(0.5, 0.3)),
    cell('resnet', 'occlusion', 'randomisation', jitter(0.2, 0.02)),
    cell('resnet', 'cam', 'energy-in-mask', jitter(0.6, 0.05), new Array(n).fill(0.2)),
    cell('resnet', 'grad-cam', 'energy-in-mask', jitter(0.1, 0.05), new Array(n).fill(0.2)),
    cell('resnet', 'occlusion', 'deletion', jitter(0.2, 0.02), new Array(n).fill(0.5)),
    cell('resnet', 'saliency', 'deletion', jitter(0.4, 0.02), new Array(n).fill(0.5)),
    cell('resnet', 'cam', 'deletion', jitter(0.3, 0.02), new Array(n).fill(0.5)),
  ];
  return { rows: [], cells, curves: [] };
}

describe('scores claims', () => {
  const claims = scoresClaims(table(), new Rng(0), 500);
  const verdict = (id: string) => claims.find((c) => c.id === id)?.verdict;
  it('reads each rule against its threshold', () => {
    expect(verdict('randomisation-saliency')).toBe('holds');
    expect(verdict('randomisation-gradient-x-input')).toBe('fails');
    expect(verdict('randomisation-integrated-gradients')).toBe('inconclusive');
    expect(verdict('localises-cam')).toBe('holds');
    expect(verdict('localises-grad-cam')).toBe('fails');
    expect(verdict('occlusion-best-deletion')).toBe('holds');
    expect(verdict('input-dominance')).toBe('holds');
    expect(verdict('every-method-beats-random-order')).toBe('holds');
    expect(verdict('every-method-changes')).toBe('holds');
  });
  it('gives every claim a kind, a verdict, an interval or a reason, and pass = holds', () => {
    for (const c of claims) {
      expect(['paper', 'check', 'extension']).toContain(c.kind);
      expect(c.pass).toBe(c.verdict === 'holds');
      if (c.interval) expect(c.interval.low).toBeLessThanOrEqual(c.interval.high);
      else expect(c.measured).toMatch(/no |none/);
    }
  });
  it('says when a method applies to no model', () => {
    expect(verdict('localises-bagnet-patches')).toBe('inconclusive');
    expect(claims.find((c) => c.id === 'localises-bagnet-patches')!.measured).toMatch(/no model/);
  });
  it('a competitor better than occlusion on deletion makes the claim fail', () => {
    const t = table();
    t.cells.push(cell('resnet', 'grad-cam', 'deletion', jitter(0.05, 0.01), new Array(n).fill(0.5)));
    expect(scoresClaims(t, new Rng(0), 500).find((c) => c.id === 'occlusion-best-deletion')!.verdict).toBe('fails');
  });
});

describe('scores config and method choice', () => {
  it('every scale: the deletion cell divides the 64 px images, subsets fit', () => {
    for (const scale of SCALES) {
      const c = SCORES_CONFIGS[scale];
      expect(64 % c.perturbation.cell).toBe(0);
      expect(c.randomisationImages).toBeLessThanOrEqual(c.images);
      expect(c.methods.maskImages).toBeLessThanOrEqual(c.images);
    }
  });
  it('the crisp mask explains maskImages, the others every image; cost options reach their method', () => {
    const c = SCORES_CONFIGS.quick;
    expect(imagesFor('crisp-mask', c, 32)).toBe(c.methods.maskImages);
    expect(imagesFor('saliency', c, 32)).toBe(32);
    expect(methodOptions('integrated-gradients', c, '')).toEqual({ steps: c.methods.igSteps });
    expect(methodOptions('occlusion', c, '')).toEqual({ window: c.methods.occlusionWindow, stride: c.methods.occlusionStride });
  });
  it('the sliding window needs a crop model', () => {
    const entry = METHODS.find((m) => m.info.id === 'sliding-window')!;
    const whole = { crop: null } as ScoredModel;
    expect(methodProblem(entry, whole)).toMatch(/crop model/);
  });
});

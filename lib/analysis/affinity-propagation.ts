import { Rng } from '../util/rng';

/**
 * Affinity propagation (Frey & Dueck, "Clustering by passing messages between data points", Science 2007) on a plain
 * similarity matrix, with the settings and stopping rule of the authors' apcluster.m: damped responsibility and
 * availability messages, stop when the exemplar set has not changed for `convIts` iterations (and is non-empty) or
 * after `maxIts`; then each cluster's exemplar is refined to the member with the largest summed similarity to the
 * other members. Usable alone: nothing here knows about images.
 */

export interface AffinityOptions {
  /** Self-similarity s(k,k) of every point (one number) or per point; default the median of all entries of s. */
  preference?: number | ArrayLike<number>;
  /** Message damping lambda in [0.5, 1) (apcluster default 0.9). */
  damping?: number;
  /** Maximum iterations (default 1000). */
  maxIts?: number;
  /** Iterations without a change of the exemplar set that end the run (default 100). */
  convIts?: number;
  /**
   * apcluster adds tiny noise (eps * s + 100 * realmin) * U(0,1) to break ties between equal similarities; pass a
   * generator to do the same (seeded), or leave it out for the plain matrix.
   */
  noise?: Rng;
}

export interface AffinityResult {
  /** Indices of the exemplars (increasing). */
  exemplars: number[];
  /** For each point, the index of its exemplar (an exemplar points to itself). */
  assignment: Int32Array;
  iterations: number;
  /** False when maxIts was reached before the exemplar set stayed fixed for convIts iterations. */
  converged: boolean;
}

/** The median of all n*n entries (what the reference code scales by 1.3 for the preference). */
export function medianOf(values: ArrayLike<number>): number {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) throw new Error('medianOf: no values');
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/** Checks a square matrix and returns it with the preference on the diagonal (float64 copy) and the noise added. */
function prepare(s: ArrayLike<number>, n: number, opts: AffinityOptions): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new Error(`affinityPropagation: expected at least one point, found n = ${n}`);
  if (s.length !== n * n) throw new Error(`affinityPropagation: a ${n}x${n} similarity matrix needs ${n * n} numbers, found ${s.length}`);
  const d = opts.damping ?? 0.9;
  if (!(d >= 0.5 && d < 1)) throw new Error(`affinityPropagation: damping must be in [0.5, 1), found ${d}; apcluster uses 0.9`);
  const S = Float64Array.from(s);
  for (let k = 0; k < S.length; k++)
    if (!Number.isFinite(S[k]) && k % (n + 1) !== 0) throw new Error(`affinityPropagation: similarity ${k} is ${S[k]}`);
  const pref = opts.preference ?? medianOf(s);
  for (let k = 0; k < n; k++) S[k * n + k] = typeof pref === 'number' ? pref : pref[k];
  if (opts.noise) {
    const realmin = 2.2250738585072014e-308;
    for (let k = 0; k < S.length; k++) S[k] += (Number.EPSILON * S[k] + realmin * 100) * opts.noise.next();
  }
  return S;
}

/** Exemplars from messages, refined as apcluster does; the assignment of every point. */
function finish(S: Float64Array, n: number, isExemplar: (k: number) => boolean): { exemplars: number[]; assignment: Int32Array } {
  let ex: number[] = [];
  for (let k = 0; k < n; k++) if (isExemplar(k)) ex.push(k);
  const assignment = new Int32Array(n).fill(-1);
  if (!ex.length) return { exemplars: [], assignment };
  const nearest = (exs: number[]) => {
    const c = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < exs.length; j++) if (S[i * n + exs[j]] > S[i * n + exs[best]]) best = j;
      c[i] = best;
    }
    exs.forEach((e, j) => (c[e] = j));
    return c;
  };
  let c = nearest(ex);
  // Refine: the exemplar of each cluster becomes the member with the largest sum of similarities from the members.
  ex = ex.map((_, k) => {
    const members: number[] = [];
    for (let i = 0; i < n; i++) if (c[i] === k) members.push(i);
    let best = members[0];
    let bestSum = -Infinity;
    for (const j of members) {
      let sum = 0;
      for (const i of members) sum += S[i * n + j];
      if (sum > bestSum) [best, bestSum] = [j, sum];
    }
    return best;
  });
  c = nearest(ex);
  for (let i = 0; i < n; i++) assignment[i] = ex[c[i]];
  return { exemplars: [...ex].sort((a, b) => a - b), assignment };
}

/**
 * Affinity propagation on `s` (n x n, row-major, s[i*n+k] = how well k suits i as exemplar; larger = more similar).
 * O(n^2) per iteration: the row maxima (responsibilities) and column sums (availabilities) are computed once per pass.
 */
export function affinityPropagation(s: ArrayLike<number>, n: number, opts: AffinityOptions = {}): AffinityResult {
  const S = prepare(s, n, opts);
  const lam = opts.damping ?? 0.9;
  const maxIts = opts.maxIts ?? 1000;
  const convIts = opts.convIts ?? 100;
  const R = new Float64Array(n * n);
  const A = new Float64Array(n * n);
  const colSum = new Float64Array(n);
  const history = new Uint8Array(n * convIts); // E of the last convIts iterations, ring buffer
  const histSum = new Int32Array(n);
  let it = 0;
  let converged = false;
  for (it = 1; it <= maxIts; it++) {
    // Responsibilities: r(i,k) = s(i,k) - max_{k' != k} (a(i,k') + s(i,k')).
    for (let i = 0; i < n; i++) {
      const row = i * n;
      let y1 = -Infinity;
      let y2 = -Infinity;
      let arg = -1;
      for (let k = 0; k < n; k++) {
        const v = A[row + k] + S[row + k];
        if (v > y1) [y2, y1, arg] = [y1, v, k];
        else if (v > y2) y2 = v;
      }
      for (let k = 0; k < n; k++) R[row + k] = lam * R[row + k] + (1 - lam) * (S[row + k] - (k === arg ? y2 : y1));
    }
    // Availabilities: a(i,k) = min(0, r(k,k) + sum_{i' not in {i,k}} max(0, r(i',k))), a(k,k) = sum_{i' != k} max(0, r(i',k)).
    colSum.fill(0);
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) colSum[k] += i === k ? R[i * n + k] : Math.max(0, R[i * n + k]);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        const rp = i === k ? R[i * n + k] : Math.max(0, R[i * n + k]);
        const a = colSum[k] - rp;
        A[i * n + k] = lam * A[i * n + k] + (1 - lam) * (i === k ? a : Math.min(0, a));
      }
    }
    // Convergence as apcluster: every point's exemplar status unchanged over the last convIts iterations.
    const slot = (it - 1) % convIts;
    let K = 0;
    for (let k = 0; k < n; k++) {
      const e = A[k * n + k] + R[k * n + k] > 0 ? 1 : 0;
      K += e;
      histSum[k] += e - history[slot * n + k];
      history[slot * n + k] = e;
    }
    if (it >= convIts) {
      let stable = 0;
      for (let k = 0; k < n; k++) if (histSum[k] === convIts || histSum[k] === 0) stable++;
      if (stable === n && K > 0) {
        converged = true;
        break;
      }
    }
  }
  const iterations = Math.min(it, maxIts);
  const { exemplars, assignment } = finish(S, n, (k) => A[k * n + k] + R[k * n + k] > 0);
  return { exemplars, assignment, iterations, converged };
}

/**
 * The same algorithm written literally from the message definitions (every max and sum recomputed per entry, O(n^3)
 * per iteration): the reference the fast version is tested against.
 */
export function affinityPropagationLiteral(s: ArrayLike<number>, n: number, opts: AffinityOptions = {}): AffinityResult {
  const S = prepare(s, n, opts);
  const lam = opts.damping ?? 0.9;
  const maxIts = opts.maxIts ?? 1000;
  const convIts = opts.convIts ?? 100;
  const r = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const decisions: boolean[][] = [];
  let it = 0;
  let converged = false;
  for (it = 1; it <= maxIts; it++) {
    const rNew = r.map((row, i) =>
      row.map((_, k) => {
        let m = -Infinity;
        for (let k2 = 0; k2 < n; k2++) if (k2 !== k) m = Math.max(m, a[i][k2] + S[i * n + k2]);
        return S[i * n + k] - m;
      }),
    );
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) r[i][k] = lam * r[i][k] + (1 - lam) * rNew[i][k];
    const aNew = a.map((row, i) =>
      row.map((_, k) => {
        let sum = 0;
        for (let i2 = 0; i2 < n; i2++) if (i2 !== i && i2 !== k) sum += Math.max(0, r[i2][k]);
        return i === k ? sum : Math.min(0, r[k][k] + sum);
      }),
    );
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) a[i][k] = lam * a[i][k] + (1 - lam) * aNew[i][k];
    decisions.push(Array.from({ length: n }, (_, k) => a[k][k] + r[k][k] > 0));
    if (it >= convIts) {
      const last = decisions.slice(-convIts);
      const stable = Array.from({ length: n }, (_, k) => last.every((d) => d[k] === last[0][k])).every(Boolean);
      if (stable && decisions[decisions.length - 1].some(Boolean)) {
        converged = true;
        break;
      }
    }
  }
  const { exemplars, assignment } = finish(S, n, (k) => a[k][k] + r[k][k] > 0);
  return { exemplars, assignment, iterations: Math.min(it, maxIts), converged };
}

import * as fs from 'fs';
import * as path from 'path';
import { plotlyBundlePath } from '../plot/spec';
import { getStudy } from '../studies/index';
import { Claim, kindOf, SeedRun, Study, verdictOf } from '../studies/types';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic';
import { UserError } from '../util/errors';
import { readClaims, validateClaims } from './claims';
import { CodeVersion, codeVersionLabel, Provenance } from './provenance';

/**
 * Seeds and intervals across machines: every (study, seed, scale) run is an independent job writing its own folder
 * (`tessera reproduce STUDY --seed N --out runs/STUDY-sN`); `aggregateRuns` reads such folders back, checks that they
 * belong together (one scale, one code version, the same seeds for every study, no seed twice) and decides each
 * study's claims over its seeds with the study's own rule (`Study.aggregate`) or `defaultAggregate`.
 */

/** One study's run found in a run folder (an output root of `tessera reproduce`). */
export interface FoundRun {
  /** The run folder (output root) it was found in. */
  root: string;
  /** <root>/<study>: claims.json, results.json, figures/, report.html. */
  dir: string;
  study: string;
  scale: string;
  seed: number;
  code: CodeVersion | null;
  claims: Claim[];
  results: Record<string, unknown>;
  provenance: Provenance | null;
}

/** The shape of results.json that aggregation reads (written by lib/report/save.ts). */
interface SavedResults {
  study: string;
  scale: string;
  seed: number;
  seeds?: number[];
  results: Record<string, unknown>;
  figures?: Array<{ name: string; caption: string }>;
  tables?: Array<{ name: string; caption: string }>;
  provenance?: Provenance;
}

/** Every study run in a run folder: its sub-folders holding claims.json and results.json of a single seed. */
export function readRunFolder(root: string): FoundRun[] {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    throw new UserError(`run folder "${root}" does not exist or is not a folder; pass folders written by \`tessera reproduce --out\``);
  }
  const found: FoundRun[] = [];
  for (const name of fs.readdirSync(root).sort()) {
    const dir = path.join(root, name);
    const resultsFile = path.join(dir, 'results.json');
    if (!fs.existsSync(path.join(dir, 'claims.json')) || !fs.existsSync(resultsFile)) continue;
    const saved = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as SavedResults;
    if (saved.seeds) continue; // an aggregate itself, not a seed's run
    if (typeof saved.study !== 'string' || typeof saved.scale !== 'string' || !Number.isInteger(saved.seed)) {
      throw new UserError(`${resultsFile} lacks study, scale or seed; it was not written by \`tessera reproduce\` (rerun the job)`);
    }
    found.push({
      root,
      dir,
      study: saved.study,
      scale: saved.scale,
      seed: saved.seed,
      code: saved.provenance?.code ?? null,
      claims: readClaims(path.join(dir, 'claims.json')),
      results: saved.results,
      provenance: saved.provenance ?? null,
    });
  }
  if (!found.length) {
    throw new UserError(`run folder "${root}" holds no finished study run (no <study>/claims.json with results.json); did its job finish?`);
  }
  return found;
}

/**
 * Refuses runs that do not belong together, with a message saying which and what to do: different scales, different
 * code versions, a (study, seed) twice, or studies run over different seeds.
 */
export function checkRuns(runs: FoundRun[]): void {
  const where = (r: FoundRun) => `${r.dir} (${r.study}, seed ${r.seed}, scale ${r.scale})`;
  const scales = [...new Set(runs.map((r) => r.scale))];
  if (scales.length > 1) {
    const examples = scales.map((s) => where(runs.find((r) => r.scale === s)!)).join('; ');
    throw new UserError(`the runs have different scales (${scales.join(', ')}): ${examples}; aggregate the runs of one scale`);
  }
  const label = (r: FoundRun) => (r.code ? codeVersionLabel(r.code) : 'unrecorded');
  const versions = [...new Set(runs.map(label))];
  if (versions.length > 1) {
    const examples = versions.map((v) => `${v}: ${where(runs.find((r) => label(r) === v)!)}`).join('; ');
    throw new UserError(
      `the runs come from different code versions (${examples}); rerun them on one commit with a clean tree ` +
        '(or, when you know the differences do not matter, set the same TESSERA_CODE_VERSION for every job)',
    );
  }
  const seen = new Map<string, FoundRun>();
  for (const r of runs) {
    const key = `${r.study}\u0000${r.seed}`;
    const other = seen.get(key);
    if (other) throw new UserError(`study ${r.study} seed ${r.seed} appears twice: ${other.dir} and ${r.dir}; pass each run once`);
    seen.set(key, r);
  }
  const seedsOf = (study: string) =>
    runs
      .filter((r) => r.study === study)
      .map((r) => r.seed)
      .sort((a, b) => a - b)
      .join(',');
  const studies = [...new Set(runs.map((r) => r.study))];
  const sets = new Set(studies.map(seedsOf));
  if (sets.size > 1) {
    const detail = studies.map((s) => `${s} has seeds ${seedsOf(s)}`).join(', ');
    throw new UserError(`the studies were run over different seeds (${detail}); run the missing seeds or aggregate one study at a time`);
  }
}

/**
 * The harness's rule when a study has no `aggregate`: a claim keeps the verdict every seed agrees on, and is
 * 'inconclusive' when they disagree (or a seed lacks it); `measured` lists every seed's measurement and verdict.
 * When every seed has an interval, the aggregate's is their envelope (the lowest low, the highest high), labelled so.
 */
export function defaultAggregate(runs: readonly SeedRun[]): Claim[] {
  const ids = [...new Set(runs.flatMap((r) => r.claims.map((c) => c.id)))];
  const seedList = runs.map((r) => r.seed).join(', ');
  return ids.map((id) => {
    const per = runs.map((r) => r.claims.find((c) => c.id === id));
    const base = per.find((c): c is Claim => !!c)!;
    const verdicts = per.map((c) => (c ? verdictOf(c) : 'missing'));
    const verdict = verdicts.every((v) => v === verdicts[0]) && verdicts[0] !== 'missing' ? verdictOf(base) : 'inconclusive';
    const measured = runs.map((r, i) => `seed ${r.seed}: ${per[i]?.measured ?? 'not measured'} (${verdicts[i]})`).join('; ');
    const claim: Claim = {
      id,
      claim: base.claim,
      paper: base.paper,
      measured,
      pass: verdict === 'holds',
      verdict,
      kind: kindOf(base),
      details: `${base.details}. Over seeds ${seedList} (harness default rule): the verdict every seed agrees on, else inconclusive.`,
    };
    const intervals = per.map((c) => c?.interval);
    if (intervals.every((iv) => iv !== undefined)) {
      const ivs = intervals as NonNullable<Claim['interval']>[];
      claim.interval = {
        low: Math.min(...ivs.map((iv) => iv.low)),
        high: Math.max(...ivs.map((iv) => iv.high)),
        level: ivs[0].level,
        over: `envelope of the ${ivs.length} seeds' intervals (each over ${ivs[0].over})`,
      };
    }
    return claim;
  });
}

/** A study's claims over its seeds: its own rule (`Study.aggregate`) when it has one, else `defaultAggregate`; validated. */
export function decideOverSeeds(study: Pick<Study, 'name' | 'aggregate'>, runs: readonly SeedRun[]): Claim[] {
  return validateClaims(study.aggregate ? study.aggregate(runs) : defaultAggregate(runs), `aggregate of ${study.name} over seeds`);
}

/** What the seeds' runs share (checked by checkRuns or the same for every job), their summed time, when and how merged. */
function aggregateProvenance(runs: FoundRun[], by: 'study' | 'default') {
  const p = runs[0].provenance;
  const times = runs.map((r) => r.provenance?.seconds);
  return {
    study: runs[0].study,
    scale: runs[0].scale,
    seeds: runs.map((r) => r.seed),
    code: runs[0].code,
    engine: p?.engine ?? null,
    versions: p?.versions,
    host: p?.host,
    seconds: times.every((t): t is number => typeof t === 'number') ? times.reduce((a, b) => a + b, 0) : undefined,
    aggregatedAt: new Date().toISOString(),
    aggregatedBy: by,
  };
}

/** One study's aggregate written by `aggregateRuns`. */
export interface AggregatedStudy {
  study: string;
  scale: string;
  seeds: number[];
  claims: Claim[];
  dir: string;
}

function copyDir(from: string, to: string): void {
  if (!fs.existsSync(from)) return;
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(from, to, { recursive: true });
}

/**
 * Reads run folders, checks them, and writes per study <out>/<study>/claims.json (decided over the seeds),
 * results.json (the seeds, every seed's folder, verdicts and provenance) and the figures and tables of the lowest seed
 * (for the index page). Throws a UserError (exit 2) for runs that do not belong together.
 */
export function aggregateRuns(runRoots: string[], outRoot: string): AggregatedStudy[] {
  if (!runRoots.length) throw new UserError('name the run folders to aggregate, e.g. `tessera aggregate runs/* --out DIR`');
  const runs = runRoots.flatMap((root) => readRunFolder(path.resolve(root)));
  checkRuns(runs);
  const out = path.resolve(outRoot);
  if (runs.some((r) => path.resolve(r.dir) === path.join(out, r.study))) {
    throw new UserError(`--out ${outRoot} is one of the run folders; aggregate into another folder`);
  }
  const studies = [...new Set(runs.map((r) => r.study))];
  return studies.map((name) => {
    const own = runs.filter((r) => r.study === name).sort((a, b) => a.seed - b.seed);
    const seedRuns: SeedRun[] = own.map((r) => ({ seed: r.seed, results: r.results, claims: r.claims }));
    const study = getStudy(name);
    const claims = decideOverSeeds(study, seedRuns);
    const dir = path.join(out, name);
    fs.mkdirSync(dir, { recursive: true });
    const first = own[0];
    copyDir(path.join(first.dir, 'figures'), path.join(dir, 'figures'));
    copyDir(path.join(first.dir, 'tables'), path.join(dir, 'tables'));
    if (fs.existsSync(path.join(dir, 'figures')) && fs.readdirSync(path.join(dir, 'figures')).some((f) => f.endsWith('.html'))) {
      // the interactive figure pages load plotly from <out>/assets/ (lib/plot/export.ts)
      const bundle = path.join(out, 'assets', 'plotly.min.js');
      if (!fs.existsSync(bundle)) writeFileAtomic(bundle, fs.readFileSync(plotlyBundlePath()));
    }
    const firstSaved = JSON.parse(fs.readFileSync(path.join(first.dir, 'results.json'), 'utf8')) as SavedResults;
    const seeds = own.map((r) => r.seed);
    writeJsonAtomic(path.join(dir, 'results.json'), {
      study: name,
      scale: first.scale,
      seeds,
      figures: firstSaved.figures ?? [],
      figuresOfSeed: first.seed,
      tables: firstSaved.tables ?? [],
      runs: own.map((r) => ({
        seed: r.seed,
        dir: path.relative(dir, r.dir).split(path.sep).join('/'),
        verdicts: Object.fromEntries(r.claims.map((c) => [c.id, verdictOf(c)])),
        provenance: r.provenance,
      })),
      provenance: aggregateProvenance(own, study.aggregate ? 'study' : 'default'),
    });
    writeJsonAtomic(path.join(dir, 'claims.json'), claims);
    return { study: name, scale: first.scale, seeds, claims, dir };
  });
}

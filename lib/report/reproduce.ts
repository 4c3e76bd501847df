import * as fs from 'fs';
import * as path from 'path';
import { currentEngine, initEngine } from '../engine/index';
import { FigureExporter } from '../plot/export';
import { makeContext, PROJECT_ROOT } from '../studies/context';
import { getStudy, studyNames } from '../studies/index';
import type { Claim, Study, StudyContext } from '../studies/types';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic';
import { formatSeconds, info, loopTimes } from '../util/progress';
import { modelsUsed } from '../util/provenance';
import { AggregatedStudy, aggregateRuns } from './aggregate';
import { readClaims } from './claims';
import { studyReportHtml, verdictSummary } from './html';
import { writeIndex } from './index-page';
import { NotebookExecutor, runNotebook } from './notebook-runner';
import type { CellTime } from './progress-relay';
import type { Provenance } from './provenance';

export interface ReproduceOptions {
  studies: string[];
  scale: string;
  outRoot: string;
  data?: string;
  /** One seed: results in <outRoot>/<study>/. Several: each in <outRoot>/runs/<study>-s<N>/, then aggregated. */
  seeds: number[];
  /** Run each study through its notebook (auto/nbconvert/tslab) or directly ('off'). */
  notebooks: NotebookExecutor | 'off';
  cellTimeout: number;
  /** Show live progress (default true). */
  progress?: boolean;
  log?: (line: string) => void;
}

export interface StudyRun {
  study: string;
  seed: number;
  ok: boolean;
  via: 'notebook' | 'cli';
  seconds: number;
  claims: Claim[];
  /** The study's output folder. */
  dir: string;
  error?: string;
}

/** What `reproduce` did: every (study, seed) run, the aggregates over seeds (with several seeds), the index page. */
export interface ReproduceResult {
  runs: StudyRun[];
  aggregates: AggregatedStudy[];
  index: string;
}

/** Seconds a previous run of this study at this scale took (its results.json), for a rough estimate of what remains. */
function previousSeconds(study: string, scale: string, dirs: string[]): number | undefined {
  for (const dir of dirs) {
    const file = path.join(dir, 'results.json');
    if (!fs.existsSync(file)) continue;
    try {
      const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { scale?: string; provenance?: Provenance };
      if (saved.scale === scale && typeof saved.provenance?.seconds === 'number') return saved.provenance.seconds;
    } catch {
      // a broken old file only costs the estimate
    }
  }
  return undefined;
}

/** Adds what only the harness knows to results.json's provenance: how the study ran, its wall time, per-cell times. */
function completeProvenance(dir: string, extra: Partial<Provenance>): void {
  const file = path.join(dir, 'results.json');
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { provenance?: Provenance };
  saved.provenance = { ...(saved.provenance as Provenance), ...extra };
  writeJsonAtomic(file, saved);
}

/** Runs one study through its notebook: the notebook calls the study and saves its output; the runner renders the report. */
async function viaNotebook(study: Study, ctx: StudyContext, opts: ReproduceOptions, expectedSeconds?: number): Promise<CellTime[]> {
  const claimsFile = path.join(ctx.out, 'claims.json');
  fs.rmSync(claimsFile, { force: true });
  const result = await runNotebook(path.join(PROJECT_ROOT, study.notebook!), {
    outDir: ctx.out,
    htmlName: 'report.html',
    executor: opts.notebooks as NotebookExecutor,
    cellTimeout: opts.cellTimeout,
    progress: opts.progress === false ? false : { tag: `${study.name} s${ctx.seed}`, expectedSeconds },
    env: {
      TESSERA_SCALE: ctx.scale,
      TESSERA_SEED: String(ctx.seed),
      TESSERA_OUT: ctx.outRoot,
      ...(ctx.data ? { TESSERA_DATA: ctx.data } : {}),
    },
  });
  if (!result.ok) throw new Error(`notebook ${study.notebook} failed (${result.executor}): ${result.error}; see ${result.htmlPath}`);
  if (!fs.existsSync(claimsFile))
    throw new Error(`notebook ${study.notebook} ran but wrote no ${claimsFile}; it must call saveStudyOutput`);
  return result.cells;
}

/** Runs one study directly and writes the CLI's own report. */
async function viaCli(study: Study, ctx: StudyContext, exporter: () => Promise<FigureExporter>): Promise<void> {
  const { saveStudyOutput } = await import('./save');
  const output = await study.run(ctx);
  await saveStudyOutput(ctx, output, await exporter());
  const html = studyReportHtml({
    title: study.title,
    summary: study.summary,
    scale: ctx.scale,
    seed: ctx.seed,
    backend: currentEngine()?.backend,
    output,
  });
  writeFileAtomic(path.join(ctx.out, 'report.html'), html);
}

/** The folder of one (study, seed) job when several seeds run: what `tessera reproduce STUDY --seed N --out` would get. */
export function seedRunRoot(outRoot: string, study: string, seed: number): string {
  return path.join(outRoot, 'runs', `${study}-s${seed}`);
}

/**
 * The `tessera reproduce` harness: validates everything first (study names, scale, --data, --out), runs each study
 * and seed (through its notebook when it has one and notebooks are on), records provenance, then with several seeds
 * aggregates them (lib/report/aggregate.ts: the same code as `tessera aggregate`) and writes <out>/index.html. A
 * failing run does not stop the others; the caller turns any failure into a non-zero exit.
 */
export async function reproduce(opts: ReproduceOptions): Promise<ReproduceResult> {
  const log = opts.log ?? info;
  const names = opts.studies.length ? opts.studies : studyNames();
  const studies = names.map(getStudy);
  if (!opts.seeds.length) throw new Error('reproduce: no seed given');
  const several = opts.seeds.length > 1;
  const jobs = studies.flatMap((study) =>
    opts.seeds.map((seed) => ({
      study,
      ctx: makeContext({
        study: study.name,
        scale: opts.scale,
        seed,
        outRoot: several ? seedRunRoot(opts.outRoot, study.name, seed) : opts.outRoot,
        data: opts.data,
      }),
    })),
  );
  const outRoot = path.resolve(opts.outRoot);
  if (opts.notebooks === 'off' || studies.some((s) => !s.notebook)) await initEngine();
  let exporter: FigureExporter | null = null;
  const getExporter = async () => (exporter ??= await FigureExporter.open(outRoot));
  const runs: StudyRun[] = [];
  try {
    for (const [i, { study, ctx }] of jobs.entries()) {
      const useNotebook = !!study.notebook && opts.notebooks !== 'off';
      const via = useNotebook ? 'notebook' : 'cli';
      const expected = previousSeconds(study.name, ctx.scale, [ctx.out, path.join(PROJECT_ROOT, 'figures', study.name)]);
      log(
        `== [${i + 1}/${jobs.length}] ${study.name}: ${study.title} (scale ${ctx.scale}, seed ${ctx.seed}, ` +
          `${useNotebook ? `notebook ${study.notebook}` : 'direct'}` +
          `${expected ? `, last run ${formatSeconds(expected)}` : ''}) -> ${ctx.out}`,
      );
      const started = Date.now();
      const loopMark = loopTimes().length;
      const modelMark = modelsUsed().length;
      try {
        let steps: CellTime[] | undefined;
        if (useNotebook) steps = await viaNotebook(study, ctx, opts, expected);
        else await viaCli(study, ctx, getExporter);
        const seconds = (Date.now() - started) / 1000;
        // A direct run shares this process with the other studies: keep only its own loops and models.
        const own = useNotebook ? {} : { loops: loopTimes().slice(loopMark), models: modelsUsed().slice(modelMark) };
        completeProvenance(ctx.out, { via, seconds, ...(steps ? { steps } : {}), ...own });
        const claims = readClaims(path.join(ctx.out, 'claims.json'));
        runs.push({ study: study.name, seed: ctx.seed, ok: true, via, seconds, claims, dir: ctx.out });
        log(`== ${study.name} seed ${ctx.seed}: done in ${formatSeconds(seconds)}; ${verdictSummary(claims)}`);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        runs.push({
          study: study.name,
          seed: ctx.seed,
          ok: false,
          via,
          seconds: (Date.now() - started) / 1000,
          claims: [],
          dir: ctx.out,
          error: message,
        });
        log(`== ${study.name} seed ${ctx.seed}: FAILED: ${message}`);
      }
    }
  } finally {
    if (exporter) await (exporter as FigureExporter).close();
  }
  let aggregates: AggregatedStudy[] = [];
  if (several && runs.every((r) => r.ok)) {
    aggregates = aggregateRuns(
      jobs.map((j) => j.ctx.outRoot),
      outRoot,
    );
    for (const agg of aggregates) log(`== ${agg.study} over seeds ${agg.seeds.join(',')}: ${verdictSummary(agg.claims)} -> ${agg.dir}`);
  } else if (several) {
    log('== not aggregating: a run failed (rerun it, then `tessera aggregate` its folder with the others)');
  }
  const index = writeIndex(outRoot);
  return { runs, aggregates, index };
}

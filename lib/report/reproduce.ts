import * as fs from 'fs';
import * as path from 'path';
import { currentEngine, initEngine } from '../engine/index';
import { FigureExporter } from '../plot/export';
import { makeContext, PROJECT_ROOT } from '../studies/context';
import { getStudy, studyNames } from '../studies/index';
import type { Claim, Study, StudyContext } from '../studies/types';
import { formatSeconds } from '../util/progress';
import { writeFileAtomic } from '../util/atomic';
import { readClaims } from './claims';
import { studyReportHtml, verdictSummary } from './html';
import { writeIndex } from './index-page';
import { NotebookExecutor, runNotebook } from './notebook-runner';

export interface ReproduceOptions {
  studies: string[];
  scale: string;
  outRoot: string;
  data?: string;
  seed: number;
  /** Run each study through its notebook (auto/nbconvert/tslab) or directly ('off'). */
  notebooks: NotebookExecutor | 'off';
  cellTimeout: number;
  log?: (line: string) => void;
}

export interface StudyRun {
  study: string;
  ok: boolean;
  via: 'notebook' | 'cli';
  seconds: number;
  claims: Claim[];
  error?: string;
}

/** Runs one study through its notebook: the notebook calls the study and saves its output; the runner renders the report. */
async function viaNotebook(study: Study, ctx: StudyContext, executor: NotebookExecutor, cellTimeout: number): Promise<void> {
  const claimsFile = path.join(ctx.out, 'claims.json');
  fs.rmSync(claimsFile, { force: true });
  const result = await runNotebook(path.join(PROJECT_ROOT, study.notebook!), {
    outDir: ctx.out,
    htmlName: 'report.html',
    executor,
    cellTimeout,
    echo: true,
    env: {
      TESSERA_SCALE: ctx.scale,
      TESSERA_SEED: String(ctx.seed),
      TESSERA_OUT: ctx.outRoot,
      ...(ctx.data ? { TESSERA_DATA: ctx.data } : {}),
    },
  });
  if (!result.ok) throw new Error(`notebook ${study.notebook} failed (${result.executor}): ${result.error}; see ${result.htmlPath}`);
  if (!fs.existsSync(claimsFile)) throw new Error(`notebook ${study.notebook} ran but wrote no ${claimsFile}; it must call saveStudyOutput`);
}

/** Runs one study directly and writes the CLI's own report. */
async function viaCli(study: Study, ctx: StudyContext, exporter: () => Promise<FigureExporter>): Promise<void> {
  const { saveStudyOutput } = await import('./save');
  const output = await study.run(ctx);
  await saveStudyOutput(ctx, output, await exporter());
  const html = studyReportHtml({ title: study.title, summary: study.summary, scale: ctx.scale, seed: ctx.seed, backend: currentEngine()?.backend, output });
  writeFileAtomic(path.join(ctx.out, 'report.html'), html);
}

/**
 * The `tessera reproduce` harness: validates everything first (study names, scale, --data, --out), runs each study
 * (through its notebook when it has one and notebooks are on), then writes <out>/index.html. A failing study does not
 * stop the others; the caller turns any failure into a non-zero exit.
 */
export async function reproduce(opts: ReproduceOptions): Promise<StudyRun[]> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const names = opts.studies.length ? opts.studies : studyNames();
  const studies = names.map(getStudy);
  const contexts = studies.map((s) => makeContext({ study: s.name, scale: opts.scale, seed: opts.seed, outRoot: opts.outRoot, data: opts.data }));
  if (opts.notebooks === 'off' || studies.some((s) => !s.notebook)) await initEngine();
  let exporter: FigureExporter | null = null;
  const getExporter = async () => (exporter ??= await FigureExporter.open(contexts[0].outRoot));
  const runs: StudyRun[] = [];
  try {
    for (let i = 0; i < studies.length; i++) {
      const study = studies[i];
      const ctx = contexts[i];
      const useNotebook = !!study.notebook && opts.notebooks !== 'off';
      log(`== ${study.name}: ${study.title} (scale ${ctx.scale}, seed ${ctx.seed}, ${useNotebook ? `notebook ${study.notebook}` : 'direct'}) -> ${ctx.out}`);
      const started = Date.now();
      try {
        if (useNotebook) await viaNotebook(study, ctx, opts.notebooks as NotebookExecutor, opts.cellTimeout);
        else await viaCli(study, ctx, getExporter);
        const claims = readClaims(path.join(ctx.out, 'claims.json'));
        const seconds = (Date.now() - started) / 1000;
        runs.push({ study: study.name, ok: true, via: useNotebook ? 'notebook' : 'cli', seconds, claims });
        log(`== ${study.name}: done in ${formatSeconds(seconds)}; ${verdictSummary(claims)}`);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        runs.push({ study: study.name, ok: false, via: useNotebook ? 'notebook' : 'cli', seconds: (Date.now() - started) / 1000, claims: [], error: message });
        log(`== ${study.name}: FAILED: ${message}`);
      }
    }
  } finally {
    if (exporter) await (exporter as FigureExporter).close();
  }
  const entries = studyNames().map((n) => {
    const s = getStudy(n);
    return { name: s.name, title: s.title, summary: s.summary };
  });
  const index = writeIndex(contexts[0].outRoot, entries);
  log(`index: ${index}`);
  return runs;
}

import * as fs from 'fs';
import * as path from 'path';
import { FigureExporter } from '../plot/export';
import { saveCsv } from '../plot/table';
import { writeJsonAtomic } from '../util/atomic';
import type { StudyContext, StudyOutput } from '../studies/types';
import { validateClaims } from './claims';
import { collectProvenance } from './provenance';

/** What a saved study run wrote. */
export interface SavedStudy {
  claimsFile: string;
  resultsFile: string;
  figureFiles: string[];
  tableFiles: string[];
}

/**
 * Writes a study's output in the harness layout: <out>/claims.json, <out>/results.json,
 * <out>/figures/<name>.png|.svg|.html and <out>/tables/<name>.csv. Claims are validated first, so a malformed
 * claim never reaches disk. results.json carries the run's provenance (code version, engine and versions, loop times,
 * models from the cache: lib/report/provenance.ts), so a study needs to record none of it. Figure and table files an
 * earlier run left in <out> that this output does not have are removed, so the folder shows one run. An exporter can
 * be passed in to reuse one browser across studies.
 */
export async function saveStudyOutput(ctx: StudyContext, output: StudyOutput, exporter?: FigureExporter): Promise<SavedStudy> {
  const claims = validateClaims(output.claims, `study ${ctx.study}`);
  const own = exporter ? null : await FigureExporter.open(ctx.outRoot);
  const ex = exporter ?? own!;
  try {
    const figureFiles: string[] = [];
    for (const figure of output.figures) {
      figureFiles.push(...(await ex.export(figure.spec, path.join(ctx.out, 'figures'), figure.name)));
    }
    const tableFiles = (output.tables ?? []).map((t) => {
      const file = path.join(ctx.out, 'tables', `${t.name}.csv`);
      saveCsv(t.rows, file);
      return file;
    });
    removeStale(path.join(ctx.out, 'figures'), figureFiles, /\.(png|svg|html)$/);
    removeStale(path.join(ctx.out, 'tables'), tableFiles, /\.csv$/);
    const resultsFile = path.join(ctx.out, 'results.json');
    writeJsonAtomic(resultsFile, {
      study: ctx.study,
      scale: ctx.scale,
      seed: ctx.seed,
      figures: output.figures.map((f) => ({ name: f.name, caption: f.caption })),
      tables: (output.tables ?? []).map((t) => ({ name: t.name, caption: t.caption })),
      results: output.results,
      provenance: collectProvenance(ctx),
    });
    // claims.json last: its presence marks a complete run.
    const claimsFile = path.join(ctx.out, 'claims.json');
    writeJsonAtomic(claimsFile, claims);
    return { claimsFile, resultsFile, figureFiles, tableFiles };
  } finally {
    if (own) await own.close();
  }
}

/** Deletes the files in `dir` matching `pattern` that are not in `keep` (absolute paths). */
function removeStale(dir: string, keep: readonly string[], pattern: RegExp): void {
  if (!fs.existsSync(dir)) return;
  const kept = new Set(keep.map((f) => path.resolve(f)));
  for (const name of fs.readdirSync(dir)) {
    const file = path.resolve(dir, name);
    if (pattern.test(name) && !kept.has(file) && fs.statSync(file).isFile()) fs.unlinkSync(file);
  }
}

import * as fs from 'fs';
import * as path from 'path';
import { page } from '../report/html';
import { escapeHtml } from '../plot/spec';
import { saveCsv, tableHtml } from '../plot/table';
import type { Table } from '../studies/types';
import { writeFileAtomic } from '../util/atomic';
import { UserError } from '../util/errors';
import { Rng } from '../util/rng';
import { analyzeAnswers } from './analysis';
import { ResponseStore } from './store';
import { findTaskSets, USER_STUDY_DIR } from './tasks';

/** What `analyzeStoredAnswers` wrote for one study. */
export interface AnalyzedStudy {
  study: string;
  answers: number;
  participants: number;
  tables: Table[];
  /** <out>/<study>/user-study/tables/<name>.csv */
  csvFiles: string[];
  /** <out>/<study>/user-study/report.html, a page of the tables. */
  report: string;
  /** <out>/<study>/report.html when it exists: the study's report, which gets (or has replaced) a user-study section. */
  studyReport?: string;
}

/** "1 participant", "3 participants". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const BEGIN = '<!-- tessera:user-study:begin -->';
const END = '<!-- tessera:user-study:end -->';

/** The HTML section of the tables (every cell escaped by tableHtml: participants' text never becomes markup). */
export function userStudySection(study: string, answers: number, participants: number, tables: readonly Table[]): string {
  return [
    BEGIN,
    '<section id="user-study">',
    '<h2>User study</h2>',
    `<p>${answers} stored answers from ${plural(participants, 'participant')} to the ${escapeHtml(study)} task set, analysed by ` +
      '<code>tessera user-study analyze</code> (the same code the study runs on simulated answers: lib/userstudy/analysis.ts).</p>',
    ...tables.map((t) => (t.rows.length ? tableHtml(t.rows, t.caption) : `<p>${escapeHtml(t.caption)}: no rows.</p>`)),
    '</section>',
    END,
  ].join('\n');
}

/** The report with its user-study section replaced, or inserted before </body> when it has none. */
export function withSection(report: string, section: string): string {
  const a = report.indexOf(BEGIN);
  const b = report.indexOf(END);
  if (a >= 0 && b > a) return report.slice(0, a) + section + report.slice(b + END.length);
  const body = report.lastIndexOf('</body>');
  return body >= 0 ? report.slice(0, body) + section + '\n' + report.slice(body) : report + '\n' + section + '\n';
}

/**
 * Builds every study's user-study tables from the answers stored in `db`, with the same analysis the studies run on
 * simulated answers, and writes them as CSV (<out>/<study>/user-study/tables/), as a page
 * (<out>/<study>/user-study/report.html) and into the study's report.html when there is one.
 */
export function analyzeStoredAnswers(opts: { out: string; db: string; seed: number }): AnalyzedStudy[] {
  if (!fs.existsSync(opts.db)) {
    throw new UserError(`no answers database at ${opts.db}; run \`npx tessera serve\` to collect answers, or pass --db FILE`);
  }
  const sets = findTaskSets(opts.out);
  if (!sets.length)
    throw new UserError(`no task sets under ${opts.out} (expected <out>/<study>/${USER_STUDY_DIR}/tasks.json); pass --out DIR`);
  const store = new ResponseStore(opts.db);
  try {
    const rng = new Rng(opts.seed);
    return sets.map((set) => {
      const stored = store.responses(set.study);
      // Answers to tasks since removed from the set cannot be analysed against a schema: leave them out, say how many.
      const answers = stored.filter((a) => set.byId.has(a.task));
      if (answers.length < stored.length) {
        console.warn(
          `user-study analyze: ${stored.length - answers.length} answers of ${set.study} are for tasks no longer in its task set`,
        );
      }
      const tables = analyzeAnswers(set, answers, rng.fork(set.study));
      const dir = path.join(opts.out, set.study, USER_STUDY_DIR);
      const csvFiles = tables.map((t) => {
        const file = path.join(dir, 'tables', `${t.name}.csv`);
        saveCsv(t.rows, file);
        return file;
      });
      const participants = new Set(answers.map((a) => a.participant)).size;
      const section = userStudySection(set.study, answers.length, participants, tables);
      const report = path.join(dir, 'report.html');
      writeFileAtomic(report, page(`${set.study}: user study`, section));
      const studyReportFile = path.join(opts.out, set.study, 'report.html');
      let studyReport: string | undefined;
      if (fs.existsSync(studyReportFile)) {
        writeFileAtomic(studyReportFile, withSection(fs.readFileSync(studyReportFile, 'utf8'), section));
        studyReport = studyReportFile;
      }
      return { study: set.study, answers: answers.length, participants, tables, csvFiles, report, studyReport };
    });
  } finally {
    store.close();
  }
}

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { FigureExporter } from '../../lib/plot/export';
import { saveStudyOutput } from '../../lib/report/save';
import type { StudyContext, StudyOutput } from '../../lib/studies/types';

/** Writes one PNG-named file per figure, as the real exporter does, without a browser. */
const fakeExporter = {
  async export(_spec: unknown, dir: string, name: string): Promise<string[]> {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${name}.png`);
    fs.writeFileSync(file, name);
    return [file];
  },
} as unknown as FigureExporter;

function output(figures: string[], tables: string[]): StudyOutput {
  return {
    results: {},
    claims: [],
    figures: figures.map((name) => ({ name, caption: name, spec: { data: [], layout: {} } })),
    tables: tables.map((name) => ({ name, caption: name, rows: [{ a: 1 }] })),
  };
}

describe('saveStudyOutput', () => {
  it("removes the figure and table files an earlier run left that this run does not have, and keeps others' files", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-save-'));
    const ctx: StudyContext = { study: 's', scale: 'quick', seed: 0, outRoot: out, out };
    await saveStudyOutput(ctx, output(['a', 'old'], ['t', 'old-table']), fakeExporter);
    fs.writeFileSync(path.join(out, 'figures', 'notes.txt'), 'mine');
    const saved = await saveStudyOutput(ctx, output(['a'], ['t']), fakeExporter);
    expect(fs.readdirSync(path.join(out, 'figures')).sort()).toEqual(['a.png', 'notes.txt']);
    expect(fs.readdirSync(path.join(out, 'tables'))).toEqual(['t.csv']);
    expect(saved.tableFiles).toEqual([path.join(out, 'tables', 't.csv')]);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'claims.json'), 'utf8'))).toEqual([]);
  });
});

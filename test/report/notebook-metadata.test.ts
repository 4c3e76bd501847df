import * as fs from 'fs';
import * as path from 'path';
import type { Notebook } from '../../lib/report/html';

/**
 * JupyterLab writes the kernel's language_info into a notebook's metadata when it opens it; a notebook whose metadata
 * differs opens as modified and dirties the git tree. These notebooks carry exactly what the tslab kernel reports, and
 * nbformat 4.5 cell ids (which JupyterLab would add).
 */
const NOTEBOOKS = fs
  .readdirSync(path.join(__dirname, '..', '..', 'notebooks'))
  .filter((f) => f.endsWith('.ipynb') && !f.includes('.executed'))
  .map((f) => `notebooks/${f}`);

describe.each(NOTEBOOKS)('%s opens unmodified in Jupyter', (file) => {
  it("has the kernel's language_info, the project kernelspec and cell ids", () => {
    const { JupyterHandlerImpl } = require('tslab/dist/jupyter') as {
      JupyterHandlerImpl: new (executor: unknown, isJs: boolean) => { handleKernel(): { language_info: unknown } };
    };
    const kernel = new JupyterHandlerImpl(null, false).handleKernel();
    const nb = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', file), 'utf8')) as Notebook;
    expect(nb.metadata.language_info).toEqual(kernel.language_info);
    expect(nb.metadata.kernelspec).toEqual({ name: 'tslab', display_name: 'TypeScript (Tessera)', language: 'typescript' });
    expect([nb.nbformat, nb.nbformat_minor]).toEqual([4, 5]);
    expect(nb.cells.every((c) => typeof c.id === 'string' && c.id.length > 0)).toBe(true);
  });
});

import * as fs from 'fs';
import * as path from 'path';
import { escapeHtml } from '../plot/spec';
import { writeFileAtomic } from '../util/atomic';
import type { Claim } from '../studies/types';
import { claimsTableHtml, readClaims } from './claims';
import { page, verdictSummary } from './html';

/** What the index shows of one study. */
export interface IndexEntry {
  name: string;
  title: string;
  summary: string;
}

function listFiles(dir: string, ext: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(ext)).sort() : [];
}

/** One study's section: verdict count, claims table, figure thumbnails (linking to the interactive pages), reports. */
function studySection(outRoot: string, entry: IndexEntry, claims: Claim[]): string {
  const dir = path.join(outRoot, entry.name);
  const figDir = path.join(dir, 'figures');
  const figures = listFiles(figDir, '.png').map((png) => {
    const base = png.slice(0, -4);
    const html = fs.existsSync(path.join(figDir, `${base}.html`)) ? `${entry.name}/figures/${base}.html` : `${entry.name}/figures/${png}`;
    const svg = fs.existsSync(path.join(figDir, `${base}.svg`)) ? ` <a href="${entry.name}/figures/${base}.svg">svg</a>` : '';
    return `<figure><a href="${escapeHtml(html)}"><img src="${entry.name}/figures/${escapeHtml(png)}" width="320"></a><figcaption>${escapeHtml(base)}${svg}</figcaption></figure>`;
  });
  const links = [
    fs.existsSync(path.join(dir, 'report.html')) ? `<a href="${entry.name}/report.html">report</a>` : '',
    `<a href="${entry.name}/claims.json">claims.json</a>`,
    fs.existsSync(path.join(dir, 'results.json')) ? `<a href="${entry.name}/results.json">results.json</a>` : '',
    ...listFiles(path.join(dir, 'tables'), '.csv').map((f) => `<a href="${entry.name}/tables/${f}">${escapeHtml(f)}</a>`),
  ].filter(Boolean);
  return [
    `<h2 id="${escapeHtml(entry.name)}">${escapeHtml(entry.title)} <small>(${escapeHtml(entry.name)})</small></h2>`,
    `<p>${escapeHtml(entry.summary)}</p>`,
    `<p><b>${escapeHtml(verdictSummary(claims))}</b> &middot; ${links.join(' &middot; ')}</p>`,
    claimsTableHtml(claims),
    `<div class="figures" style="display:flex;flex-wrap:wrap;gap:1em">${figures.join('\n')}</div>`,
  ].join('\n');
}

/**
 * Writes <outRoot>/index.html: every study that has a claims.json under outRoot (not only those just run), in the
 * order given by `entries` and then any others found.
 */
export function writeIndex(outRoot: string, entries: IndexEntry[]): string {
  const known = new Map(entries.map((e) => [e.name, e]));
  const found = fs.existsSync(outRoot)
    ? fs.readdirSync(outRoot).filter((d) => fs.existsSync(path.join(outRoot, d, 'claims.json')))
    : [];
  const order = [...entries.map((e) => e.name).filter((n) => found.includes(n)), ...found.filter((n) => !known.has(n)).sort()];
  const sections = order.map((name) => studySection(outRoot, known.get(name) ?? { name, title: name, summary: '' }, readClaims(path.join(outRoot, name, 'claims.json'))));
  const body = [
    '<h1>Tessera: reproduced claims</h1>',
    '<p>Each study\'s claims as the paper states them and as measured here, with the rule that decides the verdict. ' +
      'Figures link to interactive versions; reports show the executed notebooks.</p>',
    `<ul>${order.map((n) => `<li><a href="#${escapeHtml(n)}">${escapeHtml(known.get(n)?.title ?? n)}</a></li>`).join('')}</ul>`,
    ...(sections.length ? sections : ['<p>No study has run yet: <code>npm run reproduce</code>.</p>']),
  ].join('\n');
  const file = path.join(outRoot, 'index.html');
  writeFileAtomic(file, page('Tessera: reproduced claims', body));
  return file;
}

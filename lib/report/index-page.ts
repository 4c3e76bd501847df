import * as fs from 'fs';
import * as path from 'path';
import { escapeHtml } from '../plot/spec';
import { getStudy, studyNames } from '../studies/index';
import { Claim, kindOf, Verdict, VERDICTS, verdictOf } from '../studies/types';
import { writeFileAtomic } from '../util/atomic';
import { formatSeconds } from '../util/progress';
import { readClaims, verdictCounts } from './claims';
import { page } from './html';
import { codeVersionLabel, Provenance } from './provenance';

/** What the index shows of one study. */
export interface IndexEntry {
  name: string;
  title: string;
  summary: string;
}

/** Every registered study's entry, in registry order. */
export function studyEntries(): IndexEntry[] {
  return studyNames().map((n) => {
    const s = getStudy(n);
    return { name: s.name, title: s.title, summary: s.summary };
  });
}

/** The parts of results.json the index reads: one seed's run, or an aggregate over seeds (`seeds`, `runs`). */
interface SavedResults {
  scale?: string;
  seed?: number;
  seeds?: number[];
  runs?: Array<{ seed: number; dir: string; provenance?: Provenance | null }>;
  provenance?: Partial<Provenance> & { aggregatedAt?: string; aggregatedBy?: string };
}

interface StudyPage {
  entry: IndexEntry;
  claims: Claim[];
  saved: SavedResults;
}

function listFiles(dir: string, ext: string): string[] {
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(ext))
        .sort()
    : [];
}

const DASHBOARD_CSS = `
.caveat{background:#fff6dc;border-left:4px solid #d9a400;padding:.5em .8em}
table.dashboard td.n{text-align:center;font-weight:600;min-width:2.5em}
td.n.holds{color:#176b2c}td.n.fails{color:#a3161a}td.n.inconclusive{color:#8a5a00}td.n.zero{color:#bbb;font-weight:400}
details.claim{border:1px solid #ddd;border-radius:4px;margin:.3em 0;padding:.2em .6em}
details.claim>summary{cursor:pointer}details.claim[open]>summary{margin-bottom:.4em}
.badge{display:inline-block;min-width:7em;font-weight:600}.badge.holds{color:#176b2c}.badge.fails{color:#a3161a}
.badge.inconclusive{color:#8a5a00}.kind{color:#777;font-size:85%}
details.claim dl{display:grid;grid-template-columns:8em 1fr;gap:.2em .8em;margin:.3em 0}details.claim dt{color:#666}
.thumbs{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:.8em}
.thumbs figure{margin:0;border:1px solid #ddd;border-radius:4px;padding:.3em;background:#fff}
.thumbs img{width:100%;height:170px;object-fit:contain}.thumbs figcaption{font-size:85%;color:#555}
.prov{font-size:90%}.prov td,.prov th{padding:.15em .5em}
`;

function countCells(counts: Record<Verdict, number>, kind: string): string {
  return VERDICTS.map(
    (v) => `<td class="n ${v}${counts[v] ? '' : ' zero'}" data-kind="${kind}" data-verdict="${v}">${counts[v]}</td>`,
  ).join('');
}

function seedsText(saved: SavedResults): string {
  return saved.seeds ? saved.seeds.join(', ') : saved.seed !== undefined ? String(saved.seed) : '?';
}

function runDate(saved: SavedResults): string {
  const iso = saved.provenance?.aggregatedAt ?? saved.provenance?.savedAt;
  return iso ? iso.slice(0, 16).replace('T', ' ') : 'not recorded';
}

function engineText(p: SavedResults['provenance']): string {
  return p?.engine ? `${p.engine.backend} (${p.engine.detail})` : 'not recorded';
}

/** The top table: per study the verdict counts of the paper's claims, the checks apart, scale, seeds, engine, date. */
function dashboard(pages: StudyPage[]): string {
  const rows = pages.map(({ entry, claims, saved }) => {
    const c = verdictCounts(claims);
    return (
      `<tr class="study-row" data-study="${escapeHtml(entry.name)}">` +
      `<td><a href="#${escapeHtml(entry.name)}">${escapeHtml(entry.title)}</a></td>` +
      `${countCells(c.paper, 'paper')}${countCells(c.other, 'other')}<td>${escapeHtml(saved.scale ?? '?')}</td>` +
      `<td>${escapeHtml(seedsText(saved))}</td><td>${escapeHtml(saved.provenance?.engine?.backend ?? '?')}</td>` +
      `<td>${escapeHtml(runDate(saved))}</td></tr>`
    );
  });
  return (
    '<table class="dashboard"><thead><tr><th rowspan="2">study</th><th colspan="3">paper\'s claims</th>' +
    '<th colspan="3">checks and extensions</th><th rowspan="2">scale</th><th rowspan="2">seeds</th><th rowspan="2">engine</th>' +
    '<th rowspan="2">run</th></tr><tr>' +
    '<th>holds</th><th>fails</th><th>inconcl.</th>'.repeat(2) +
    `</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`
  );
}

function intervalText(c: Claim): string {
  const iv = c.interval;
  return iv ? `${Math.round(iv.level * 100)}% interval [${iv.low.toPrecision(3)}, ${iv.high.toPrecision(3)}] over ${iv.over}` : 'none';
}

/** Each claim as a row that opens to its rule, the paper's and our numbers and the interval. */
function claimRows(claims: Claim[]): string {
  return claims
    .map((c) => {
      const v = verdictOf(c);
      const kind = kindOf(c);
      return (
        `<details class="claim ${v}" data-claim="${escapeHtml(c.id)}" data-verdict="${v}" data-kind="${kind}"><summary>` +
        `<span class="badge ${v}">${v}</span> ${escapeHtml(c.claim)} <code>${escapeHtml(c.id)}</code>` +
        `${kind === 'paper' ? '' : ` <span class="kind">(${kind})</span>`}</summary><dl>` +
        `<dt>paper</dt><dd>${escapeHtml(c.paper)}</dd><dt>measured</dt><dd>${escapeHtml(c.measured)}</dd>` +
        `<dt>interval</dt><dd>${escapeHtml(intervalText(c))}</dd><dt>rule</dt><dd>${escapeHtml(c.details)}</dd></dl></details>`
      );
    })
    .join('\n');
}

/** Code version, engine and versions, host, time per step and models from the cache, folded. */
function provenanceHtml(saved: SavedResults): string {
  const p = saved.provenance;
  if (!p?.code) return '<p class="prov">Provenance: not recorded (a run from before the harness recorded it).</p>';
  const rows: Array<[string, string]> = [
    ['code', `${codeVersionLabel(p.code)}${p.code.dirty ? ' (tracked files differed from the commit)' : ''}`],
    ['engine', engineText(p)],
    [
      'versions',
      p.versions
        ? `Node ${p.versions.node}, tfjs ${p.versions.tfjs}, libtorch ${p.versions.libtorch ?? '-'}, tslab ${p.versions.tslab ?? '-'}`
        : '?',
    ],
    ['host', p.host ? `${p.host.platform}/${p.host.arch}, ${p.host.cpus} cores (${p.host.cpuModel})` : '?'],
    [
      'run',
      saved.seeds
        ? `${saved.seeds.length} seeds${p.seconds !== undefined ? `, ${formatSeconds(p.seconds)} in all` : ''}, ` +
          `merged ${runDate(saved)} (${p.aggregatedBy === 'study' ? "the study's rule" : 'default rule'})`
        : `${p.via ?? '?'}${p.seconds !== undefined ? `, ${formatSeconds(p.seconds)}` : ''}, saved ${runDate(saved)}`,
    ],
  ];
  if (saved.runs)
    rows.push([
      'seeds',
      saved.runs
        .map((r) => `seed ${r.seed}: ${r.provenance?.seconds !== undefined ? formatSeconds(r.provenance.seconds) : '?'}`)
        .join(', '),
    ]);
  const models = p.models ?? [];
  if (models.length) {
    const cached = models.filter((m) => m.fromCache).length;
    rows.push([
      'models',
      `${models.length} (${cached} from the cache, ${models.length - cached} trained): ` +
        models.map((m) => `${m.name}${m.fromCache ? ' (cache)' : ` (trained ${formatSeconds(m.seconds)})`}`).join(', '),
    ]);
  }
  const steps = (p.steps ?? []).map(
    (s) => `<tr><td>cell ${s.cell}</td><td><code>${escapeHtml(s.source)}</code></td><td>${formatSeconds(s.seconds)}</td></tr>`,
  );
  const loops = (p.loops ?? []).map(
    (l) => `<tr><td>loop</td><td>${escapeHtml(l.label)} (${l.total} steps)</td><td>${formatSeconds(l.seconds)}</td></tr>`,
  );
  return (
    '<details class="prov"><summary>Provenance: code, engine, versions, time per step, models</summary><table>' +
    rows.map(([k, v]) => `<tr><th>${k}</th><td>${escapeHtml(v)}</td></tr>`).join('') +
    '</table>' +
    (steps.length || loops.length ? `<table><tr><th></th><th>step</th><th>time</th></tr>${[...steps, ...loops].join('')}</table>` : '') +
    '</details>'
  );
}

/** One study's section: summary, links, provenance, claims, figure thumbnails (opening the interactive figures). */
function studySection(outRoot: string, { entry, claims, saved }: StudyPage): string {
  const name = entry.name;
  const dir = path.join(outRoot, name);
  const figDir = path.join(dir, 'figures');
  const figures = listFiles(figDir, '.png').map((png) => {
    const base = png.slice(0, -4);
    const html = fs.existsSync(path.join(figDir, `${base}.html`)) ? `${name}/figures/${base}.html` : `${name}/figures/${png}`;
    const svg = fs.existsSync(path.join(figDir, `${base}.svg`))
      ? ` &middot; <a href="${escapeHtml(`${name}/figures/${base}.svg`)}">svg</a>`
      : '';
    return (
      `<figure><a href="${escapeHtml(html)}">` +
      `<img loading="lazy" src="${escapeHtml(`${name}/figures/${png}`)}" alt="${escapeHtml(base)}"></a>` +
      `<figcaption>${escapeHtml(base)}${svg}</figcaption></figure>`
    );
  });
  const link = (file: string, label = file) =>
    fs.existsSync(path.join(dir, file)) ? `<a href="${escapeHtml(`${name}/${file}`)}">${escapeHtml(label)}</a>` : '';
  const seedLinks = (saved.runs ?? []).flatMap((r) => {
    const runDir = `${name}/${r.dir}`;
    return [
      `<a href="${escapeHtml(`${runDir}/report.html`)}">report seed ${r.seed}</a>`,
      `<a href="${escapeHtml(`${runDir}/claims.json`)}">claims seed ${r.seed}</a>`,
    ];
  });
  const links = [
    link('report.html', 'report'),
    ...seedLinks,
    link('claims.json'),
    link('results.json'),
    ...listFiles(path.join(dir, 'tables'), '.csv').map((f) => link(`tables/${f}`, f)),
  ].filter(Boolean);
  const figuresNote = saved.seeds
    ? `<p class="prov">Figures of seed ${saved.seeds[0]}; claims decided over seeds ${saved.seeds.join(', ')}.</p>`
    : '';
  return [
    `<h2 id="${escapeHtml(name)}">${escapeHtml(entry.title)} <small>(${escapeHtml(name)})</small></h2>`,
    `<p>${escapeHtml(entry.summary)}</p>`,
    `<p>${links.join(' &middot; ')}</p>`,
    provenanceHtml(saved),
    '<h3>Claims</h3>',
    claimRows(claims),
    figures.length ? `<h3>Figures</h3>${figuresNote}<div class="thumbs">${figures.join('\n')}</div>` : '',
  ].join('\n');
}

/**
 * Writes <outRoot>/index.html, the dashboard: every study that has a claims.json under outRoot (not only those just
 * run), in the order of `entries` (default: the registry) and then any others found. Self-contained: inline CSS, no
 * script, relative links only.
 */
export function writeIndex(outRoot: string, entries: IndexEntry[] = studyEntries()): string {
  const known = new Map(entries.map((e) => [e.name, e]));
  const found = fs.existsSync(outRoot) ? fs.readdirSync(outRoot).filter((d) => fs.existsSync(path.join(outRoot, d, 'claims.json'))) : [];
  const order = [...entries.map((e) => e.name).filter((n) => found.includes(n)), ...found.filter((n) => !known.has(n)).sort()];
  const pages: StudyPage[] = order.map((name) => {
    const resultsFile = path.join(outRoot, name, 'results.json');
    return {
      entry: known.get(name) ?? { name, title: name, summary: '' },
      claims: readClaims(path.join(outRoot, name, 'claims.json')),
      saved: fs.existsSync(resultsFile) ? (JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as SavedResults) : {},
    };
  });
  const quick = pages.filter((p) => p.saved.scale === 'quick').map((p) => p.entry.name);
  const body = [
    `<style>${DASHBOARD_CSS}</style>`,
    '<h1>Tessera: reproduced claims</h1>',
    "<p>Each study's claims as the paper states them and as measured here, with the rule that decides the verdict " +
      "(open a claim to see it). Implementation checks and our extensions are counted apart from the paper's claims.</p>",
    quick.length
      ? `<p class="caveat"><b>Quick scale</b> (${escapeHtml(quick.join(', '))}): small data and short training, ` +
        'sized to run in minutes on a laptop. Its verdicts check the pipeline and show tendencies; they do not ' +
        "reproduce the papers' numbers. Run <code>tessera reproduce --scale standard</code> (3 seeds) for verdicts to rely on.</p>"
      : '',
    pages.length ? dashboard(pages) : '<p>No study has run yet: <code>npm run reproduce</code>.</p>',
    ...pages.map((p) => studySection(outRoot, p)),
  ].join('\n');
  const file = path.join(outRoot, 'index.html');
  writeFileAtomic(file, page('Tessera: reproduced claims', body));
  return file;
}

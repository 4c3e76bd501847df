import * as fs from 'fs';
import { Claim, CLAIM_KINDS, kindOf, Verdict, VERDICTS, verdictOf } from '../studies/types';
import { escapeHtml } from '../plot/spec';

const FIELDS: Array<[keyof Claim, 'string' | 'boolean']> = [
  ['id', 'string'],
  ['claim', 'string'],
  ['paper', 'string'],
  ['measured', 'string'],
  ['pass', 'boolean'],
  ['details', 'string'],
];

/** Checks the claims contract (fields and types, unique ids); throws naming the first problem. */
export function validateClaims(claims: unknown, where: string): Claim[] {
  if (!Array.isArray(claims)) throw new Error(`${where}: claims must be an array, found ${typeof claims}`);
  const ids = new Set<string>();
  claims.forEach((c, i) => {
    if (typeof c !== 'object' || c === null) throw new Error(`${where}: claim ${i} is not an object`);
    for (const [field, type] of FIELDS) {
      const value = (c as Record<string, unknown>)[field];
      if (typeof value !== type) throw new Error(`${where}: claim ${i} field "${field}" must be a ${type}, found ${JSON.stringify(value)}`);
    }
    const claim = c as Claim;
    if (claim.verdict !== undefined && !VERDICTS.includes(claim.verdict))
      throw new Error(`${where}: claim ${i} verdict must be one of ${VERDICTS.join(', ')}, found ${JSON.stringify(claim.verdict)}`);
    if (claim.verdict !== undefined && claim.pass !== (claim.verdict === 'holds'))
      throw new Error(`${where}: claim ${i} has pass ${claim.pass} but verdict ${claim.verdict}`);
    if (claim.kind !== undefined && !CLAIM_KINDS.includes(claim.kind))
      throw new Error(`${where}: claim ${i} kind must be one of ${CLAIM_KINDS.join(', ')}, found ${JSON.stringify(claim.kind)}`);
    const iv = claim.interval;
    if (
      iv !== undefined &&
      !(
        typeof iv === 'object' &&
        iv !== null &&
        typeof iv.low === 'number' &&
        typeof iv.high === 'number' &&
        iv.low <= iv.high &&
        typeof iv.level === 'number' &&
        typeof iv.over === 'string'
      )
    ) {
      throw new Error(`${where}: claim ${i} interval must be { low <= high, level, over }, found ${JSON.stringify(iv)}`);
    }
    const id = claim.id;
    if (ids.has(id)) throw new Error(`${where}: claim id "${id}" appears twice`);
    ids.add(id);
  });
  return claims as Claim[];
}

/** Reads and validates <study>/claims.json. */
export function readClaims(file: string): Claim[] {
  return validateClaims(JSON.parse(fs.readFileSync(file, 'utf8')), file);
}

function intervalText(c: Claim): string {
  const iv = c.interval;
  return iv
    ? `<br><small>${Math.round(iv.level * 100)}% interval [${iv.low.toPrecision(3)}, ${iv.high.toPrecision(3)}] ` +
        `over ${escapeHtml(iv.over)}</small>`
    : '';
}

/** The claims as an HTML table with a verdict column. */
export function claimsTableHtml(claims: Claim[]): string {
  const rows = claims
    .map(
      (c) =>
        `<tr class="${verdictOf(c)}"><td><code>${escapeHtml(c.id)}</code></td><td>${escapeHtml(c.claim)}</td>` +
        `<td>${escapeHtml(c.paper)}</td><td>${escapeHtml(c.measured)}${intervalText(c)}</td>` +
        `<td class="verdict">${verdictOf(c)}${kindOf(c) === 'paper' ? '' : ` (${kindOf(c)})`}</td><td>${escapeHtml(c.details)}</td></tr>`,
    )
    .join('\n');
  return (
    '<table class="claims"><thead><tr><th>id</th><th>claim</th><th>paper</th><th>measured</th><th>verdict</th><th>rule</th></tr></thead>' +
    `<tbody>\n${rows}\n</tbody></table>`
  );
}

/** Shared CSS of reports and the index page. */
export const REPORT_CSS = `
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}
th{background:#f3f3f3}tr.holds td.verdict{color:#176b2c;font-weight:600}tr.fails td.verdict{color:#a3161a;font-weight:600}
tr.inconclusive td.verdict{color:#8a5a00;font-weight:600}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:90%}pre.stderr{background:#fff0f0}pre.error{background:#fdd;color:#700}
.cell{margin:1.2em 0}.prompt{color:#888;font-family:monospace;font-size:85%}img{max-width:100%}
`;

/** Verdict counts of a study's claims: the paper's claims, and the implementation checks and extensions apart. */
export interface VerdictCounts {
  paper: Record<Verdict, number>;
  other: Record<Verdict, number>;
}

export function verdictCounts(claims: Claim[]): VerdictCounts {
  const zero = (): Record<Verdict, number> => ({ holds: 0, fails: 0, inconclusive: 0 });
  const counts: VerdictCounts = { paper: zero(), other: zero() };
  for (const c of claims) counts[kindOf(c) === 'paper' ? 'paper' : 'other'][verdictOf(c)]++;
  return counts;
}

/** "3 hold, 1 fails, 2 inconclusive" (zero counts left out but for holds). */
export function countsText(counts: Record<Verdict, number>): string {
  const parts = [`${counts.holds} hold${counts.holds === 1 ? 's' : ''}`];
  if (counts.fails) parts.push(`${counts.fails} fail${counts.fails === 1 ? 's' : ''}`);
  if (counts.inconclusive) parts.push(`${counts.inconclusive} inconclusive`);
  return parts.join(', ');
}

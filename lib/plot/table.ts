import type { DataFrame } from 'danfojs-node';
import { writeFileAtomic } from '../util/atomic';
import { showHtml } from './show';
import { escapeHtml } from './spec';

/** One table row: column name -> cell (numbers, strings, booleans; anything else is shown as JSON). */
export type Row = Record<string, unknown>;

/** Tables are arrays of plain objects (interfaces included), or danfojs DataFrames. */
export type TableLike = readonly object[] | DataFrame;

type Danfo = typeof import('danfojs-node');
let danfo: Danfo | null = null;

/** danfojs-node, loaded on first use (it takes a few seconds to load). */
function dfd(): Danfo {
  if (!danfo) danfo = require('danfojs-node') as Danfo;
  return danfo;
}

/** A danfojs DataFrame of rows (columns in the order of the first row's keys). */
export function dataFrame(rows: readonly object[]): DataFrame {
  if (rows.length === 0) throw new Error('dataFrame needs at least one row');
  return new (dfd().DataFrame)(rows as Row[], { columns: Object.keys(rows[0]) });
}

function toRows(table: TableLike): Row[] {
  return Array.isArray(table) ? (table as Row[]) : (dfd().toJSON(table as DataFrame, { format: 'column' }) as Row[]);
}

function formatCell(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  return formatCsvCell(value);
}

/** A plain HTML table (no scripts), for notebooks and reports. */
export function tableHtml(table: TableLike, caption?: string): string {
  const rows = toRows(table);
  const columns = rows.length ? Object.keys(rows[0]) : [];
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows.map((r) => `<tr>${columns.map((c) => `<td>${escapeHtml(formatCell(r[c]))}</td>`).join('')}</tr>`).join('\n');
  const cap = caption ? `<caption>${escapeHtml(caption)}</caption>` : '';
  return `<table class="tessera-table">${cap}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Plain-text rendering (fixed-width columns) for terminals. */
export function tableText(table: TableLike): string {
  const rows = toRows(table);
  if (rows.length === 0) return '(empty table)';
  const columns = Object.keys(rows[0]);
  const cells = [columns, ...rows.map((r) => columns.map((c) => formatCell(r[c])))];
  const widths = columns.map((_, j) => Math.max(...cells.map((row) => row[j].length)));
  return cells
    .map((row) =>
      row
        .map((cell, j) => cell.padEnd(widths[j]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Shows a table in a notebook (HTML), or prints it as text elsewhere. */
export function showTable(table: TableLike, caption?: string): void {
  showHtml(tableHtml(table, caption), tableText(table));
}

/** CSV text with quoting where needed. */
export function tableCsv(table: TableLike): string {
  const rows = toRows(table);
  if (rows.length === 0) return '';
  const columns = Object.keys(rows[0]);
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [columns.map(quote).join(','), ...rows.map((r) => columns.map((c) => quote(formatCsvCell(r[c]))).join(','))].join('\n') + '\n';
}

function formatCsvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Saves a table as CSV, atomically. */
export function saveCsv(table: TableLike, file: string): void {
  writeFileAtomic(file, tableCsv(table));
}

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

/**
 * The tokens of a TypeScript/JavaScript source, one per line as "<kind> <text>", without whitespace, comments and
 * trailing commas: two sources that differ only in formatting (what prettier changes) give the same string, while
 * any change to code, strings or regular expressions changes it. Parsed, not scanned, so template literals and
 * regular expressions are read as the compiler reads them.
 */
export function sourceTokens(text: string, fileName = 'source.ts'): string {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, scriptKind(fileName));
  const leaves: ts.Node[] = [];
  const visit = (node: ts.Node): void => {
    if (node.kind >= ts.SyntaxKind.FirstJSDocNode && node.kind <= ts.SyntaxKind.LastJSDocNode) return;
    const children = node.getChildren(file);
    if (children.length === 0) {
      if (node.kind !== ts.SyntaxKind.EndOfFileToken && node.kind !== ts.SyntaxKind.SyntaxList) leaves.push(node);
      return;
    }
    for (const child of children) visit(child);
  };
  visit(file);
  const closers = new Set([ts.SyntaxKind.CloseParenToken, ts.SyntaxKind.CloseBracketToken, ts.SyntaxKind.CloseBraceToken]);
  const lines: string[] = [];
  leaves.forEach((leaf, i) => {
    // prettier adds or drops a trailing comma when it joins or breaks a list: not a change of the code.
    if (leaf.kind === ts.SyntaxKind.CommaToken && i + 1 < leaves.length && closers.has(leaves[i + 1].kind)) return;
    lines.push(`${leaf.kind} ${leaf.getText(file)}`);
  });
  return lines.join('\n');
}

function scriptKind(fileName: string): ts.ScriptKind {
  if (fileName.endsWith('.tsx')) return ts.ScriptKind.TSX;
  if (/\.[cm]?js$/.test(fileName)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

/**
 * A fingerprint (sha256, 16 hex) of source files' code: for each [label, file] in order, the label then the file's
 * tokens (sourceTokens), so formatting and comments do not change it and any change to the code does.
 */
export function sourcesFingerprint(files: [label: string, file: string][]): string {
  const h = crypto.createHash('sha256');
  for (const [label, file] of files) {
    h.update(`${label}\n`);
    h.update(sourceTokens(fs.readFileSync(file, 'utf8'), path.basename(file)));
  }
  return h.digest('hex').slice(0, 16);
}

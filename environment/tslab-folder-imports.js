'use strict';
// tslab loads the local .ts modules it compiled by appending ".js" to the import path, so `import ... from
// './lib/engine'` (a folder with index.ts) is not found, although TypeScript itself resolves it. This patch makes
// tslab's path join return `<folder>/index` when the joined path is a folder holding index.ts, so folder imports
// work in notebooks as they do everywhere else. Loaded by the kernel launcher and the headless executor.
const fs = require('fs');
const path = require('path');

function patchTslabFolderImports(root) {
  const tspath = require(path.join(root, 'node_modules', 'tslab', 'dist', 'tspath.js'));
  if (tspath.normalizeJoin.tesseraPatched) return;
  const original = tspath.normalizeJoin;
  const patched = function normalizeJoin(...parts) {
    const joined = original(...parts);
    if (parts.length === 2 && typeof parts[1] === 'string' && parts[1].startsWith('.') && path.extname(joined) === '') {
      try {
        if (fs.statSync(joined).isDirectory() && fs.existsSync(path.join(joined, 'index.ts'))) return `${joined}/index`;
      } catch {
        // not a folder: leave the path as it was
      }
    }
    return joined;
  };
  patched.tesseraPatched = true;
  tspath.normalizeJoin = patched;
}

module.exports = { patchTslabFolderImports };

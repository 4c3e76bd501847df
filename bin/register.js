'use strict';
// Lets Node load the project's TypeScript directly: each .ts file is compiled on require by swc (type-stripping
// only; `npm run typecheck` does the type checking). Source maps keep stack traces pointing at the .ts lines.
const fs = require('fs');
const swc = require('@swc/core');

if (!require.extensions['.ts']) {
  process.setSourceMapsEnabled(true);
  require.extensions['.ts'] = function compileTypeScript(module, filename) {
    const source = fs.readFileSync(filename, 'utf8');
    const { code } = swc.transformSync(source, {
      filename,
      sourceMaps: 'inline',
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
    });
    module._compile(code, filename);
  };
}

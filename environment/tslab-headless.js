'use strict';
// tslab watches the local .ts files a notebook imports and rebuilds them when they change. When one changes while a
// headless run is executing (someone edits lib/ meanwhile), tslab's single rebuild timer collides with the next
// cell's and the cell fails with "Unexpected pending rebuildTimer". A headless run should use the sources as they
// were when it started anyway, so the notebook runner sets TESSERA_FREEZE_SOURCES=1 and the kernel launchers call
// this to turn tslab's watching of real files off. Interactive kernels keep watching (edits to lib/ are picked up).
const path = require('path');

function freezeTslabSources(root) {
  if (process.env.TESSERA_FREEZE_SOURCES !== '1') return false;
  const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [path.join(root, 'node_modules', 'tslab')] }));
  if (ts.sys.watchFile.tesseraFrozen) return true;
  const frozen = () => ({ close() {} });
  frozen.tesseraFrozen = true;
  ts.sys.watchFile = frozen;
  if (ts.sys.watchDirectory) ts.sys.watchDirectory = frozen;
  return true;
}

module.exports = { freezeTslabSources };

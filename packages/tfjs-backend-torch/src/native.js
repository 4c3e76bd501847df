'use strict';
/**
 * Loads the libtorch addon once. Sets OMP_WAIT_POLICY=passive first (libgomp reads it when it loads): with
 * libgomp's default spin-wait, a busy second core makes training steps 2-10x slower.
 */
const path = require('path');
const fs = require('fs');

let cached;

/** @returns {{addon: any, error: string|null, path: string}} */
function loadAddon() {
  if (cached) return cached;
  const file = process.env.TFJS_TORCH_ADDON || path.join(__dirname, '..', 'build', 'torch_addon.node');
  if (!fs.existsSync(file)) {
    cached = {
      addon: null,
      path: file,
      error:
        `libtorch addon not built (${file} missing): libtorch not found at install time. Install it with ` +
        '`apt-get install libtorch-dev libopenblas0-openmp`, then run `node packages/tfjs-backend-torch/scripts/build.js`.',
    };
    return cached;
  }
  if (!process.env.OMP_WAIT_POLICY) process.env.OMP_WAIT_POLICY = 'passive';
  try {
    cached = { addon: require(file), error: null, path: file };
  } catch (e) {
    cached = {
      addon: null,
      path: file,
      error:
        `libtorch addon ${file} failed to load: ${e.message}. Rebuild it with ` +
        '`node packages/tfjs-backend-torch/scripts/build.js --force` (is libtorch-dev still installed?).',
    };
  }
  return cached;
}

module.exports = { loadAddon };

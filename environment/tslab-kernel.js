#!/usr/bin/env node
'use strict';
// The Jupyter kernel for Tessera's notebooks: tslab, started from the project root so that notebooks can import
// './lib/...' (tslab only compiles local .ts files under its working directory), with TESSERA_NOTEBOOK=1 so that
// progress bars draw a live line. Usage (Jupyter fills it in): tslab-kernel.js <connection_file>
const path = require('path');
const root = path.resolve(__dirname, '..');
// Jupyter starts the kernel in the notebook's folder: figures load plotly relative to it (lib/plot/show.ts).
if (!process.env.TESSERA_NOTEBOOK_DIR) process.env.TESSERA_NOTEBOOK_DIR = process.cwd();
process.chdir(root);
process.env.TESSERA_NOTEBOOK = '1';
require('./tslab-folder-imports').patchTslabFolderImports(root);
require('./tslab-headless').freezeTslabSources(root);
require('./tslab-iopub').sendIopubAtOnce(root);
const { startKernel } = require(path.join(root, 'node_modules', 'tslab', 'dist', 'main.js'));
startKernel({ configPath: process.argv[2] || '', enableFindLocal: false });

#!/usr/bin/env node
/**
 * Runs TensorFlow.js's own op specs (the *_test.js files shipped in @tensorflow/tfjs-core/dist/ops) against the
 * 'torch' backend with Jasmine, as tfjs runs them for its own backends.
 *
 * - The dist files are ES modules: a require hook compiles them to CommonJS with swc, and '@tensorflow/tfjs-core'
 *   resolves to dist/index.js so that the specs, tfjs-backend-cpu (the fallback) and this backend share one tfjs.
 * - By default every native kernel runs even on tiny tensors (TFJS_TORCH_MIN_NATIVE=0) and native errors throw
 *   (TFJS_TORCH_STRICT=1), so the specs test the native kernels, not the cpu fallback.
 * - EXCLUDED lists the specs that do not apply, each with its reason.
 *
 * Usage: node packages/tfjs-backend-torch/test/op-specs.js [--filter <substring>] [--verbose]
 * Exit code 0 when all included specs pass (or libtorch is unavailable: then it says so and skips).
 */
'use strict';
const fs = require('fs');
const path = require('path');
const Module = require('module');

process.env.TFJS_TORCH_MIN_NATIVE = process.env.TFJS_TORCH_MIN_NATIVE ?? '0';
process.env.TFJS_TORCH_STRICT = process.env.TFJS_TORCH_STRICT ?? '1';

const coreDir = path.dirname(require.resolve('@tensorflow/tfjs-core/package.json'));
const distDir = path.join(coreDir, 'dist');
const distIndex = path.join(distDir, 'index.js');
// The cpu backend's CommonJS bundle is ES5 (its classes cannot be extended by ES2015 ones): use its ES module tree.
const cpuDistDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-cpu/package.json')), 'dist');

/**
 * Specs excluded, by substring of the full spec name, with the reason. Keep this short and explained.
 */
const EXCLUDED = [
  {
    name: 'maxPool',
    spec: 'ignores NaNs',
    reason:
      'ATen max-pooling propagates NaN (IEEE max) where tfjs-cpu skips NaN; matching it costs a full extra pass ' +
      'over every pooled activation, and a NaN activation means training has already diverged',
  },
];

function installHooks() {
  const swc = require('@swc/core');
  const origJs = Module._extensions['.js'];
  Module._extensions['.js'] = function compile(module, filename) {
    if (filename.startsWith(distDir + path.sep) || filename.startsWith(cpuDistDir + path.sep)) {
      const src = fs.readFileSync(filename, 'utf8');
      const { code } = swc.transformSync(src, {
        filename,
        jsc: { parser: { syntax: 'ecmascript' }, target: 'es2020' },
        module: { type: 'commonjs', ignoreDynamic: true },
        sourceMaps: false,
      });
      module._compile(code, filename);
      return;
    }
    origJs(module, filename);
  };
  const origResolve = Module._resolveFilename;
  Module._resolveFilename = function resolve(request, ...rest) {
    if (request === '@tensorflow/tfjs-core') return distIndex;
    if (request === '@tensorflow/tfjs-backend-cpu') return path.join(cpuDistDir, 'index.js');
    return origResolve.call(this, request, ...rest);
  };
}

function specFiles(filter) {
  const dirs = [
    path.join(distDir, 'ops'),
    ...fs
      .readdirSync(path.join(distDir, 'ops'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(distDir, 'ops', d.name)),
  ];
  const files = [];
  for (const d of dirs) for (const f of fs.readdirSync(d)) if (f.endsWith('_test.js')) files.push(path.join(d, f));
  return files.filter((f) => !filter || f.includes(filter)).sort();
}

async function main() {
  const args = process.argv.slice(2);
  const filter = args.includes('--filter') ? args[args.indexOf('--filter') + 1] : null;
  const verbose = args.includes('--verbose');
  installHooks();
  const torch = require('../src/index.js');
  if (!torch.isAvailable()) {
    console.log(`op specs skipped: ${torch.unavailableReason()}`);
    return 0;
  }
  const Jasmine = require('jasmine');
  const runner = new Jasmine({ projectBaseDir: path.resolve(__dirname, '..') });
  runner.exitOnCompletion = false;
  const env = runner.env;
  env.configure({ random: false, stopOnSpecFailure: false });
  jasmine.DEFAULT_TIMEOUT_INTERVAL = 30000;
  require(path.join(distDir, 'register_all_gradients.js'));
  require(path.join(distDir, 'public', 'chained_ops', 'register_all_chained_ops.js'));
  torch.overrideGradients();
  const jasmineUtil = require(path.join(distDir, 'jasmine_util.js'));
  jasmineUtil.setTestEnvs([{ name: 'torch', backendName: 'torch', flags: {}, isDataSync: true }]);
  env.configure({
    specFilter: (spec) => {
      const n = spec.getFullName();
      return !EXCLUDED.some((e) => n.includes(e.spec) && (!e.name || n.includes(e.name)));
    },
  });
  const failures = [];
  let passed = 0;
  let total = 0;
  env.addReporter({
    specDone(r) {
      if (r.status === 'excluded') return;
      total++;
      if (r.status === 'passed') passed++;
      else if (r.status === 'failed') {
        failures.push({
          name: r.fullName,
          message: r.failedExpectations
            .map((f) => f.message)
            .join(' | ')
            .slice(0, 300),
        });
      }
    },
  });
  const t0 = Date.now();
  const files = specFiles(filter);
  // Loading a spec file registers its suites; jasmine runs them in execute().
  for (const f of files) require(f);
  await runner.execute();
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  for (const f of failures) console.log(`FAIL ${f.name}\n     ${f.message}`);
  const stats = torch.stats();
  console.log(
    `op specs on torch: ${passed}/${total} passed, ${failures.length} failed, ${files.length} files, ${secs} s ` +
      `(kernel calls: ${stats.native} native, ${stats.fallback} cpu fallback)`,
  );
  if (verbose) console.log(JSON.stringify(stats.byKernel));
  return failures.length ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);

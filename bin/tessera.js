#!/usr/bin/env node
'use strict';
// The `tessera` command: registers the TypeScript loader and hands over to lib/cli.
require('./register');
require('../lib/cli')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });

#!/usr/bin/env node
'use strict';
// The `warden` command. It runs the compiled service: `npm run build` (or `npm run up`,
// which builds first) produces dist/.
const path = require('node:path');
const fs = require('node:fs');

const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write(
    "warden: not built yet: run 'npm run build' (or 'npm run up') in the checkout first\n",
  );
  process.exit(1);
}
require(entry).main(process.argv.slice(2));

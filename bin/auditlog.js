#!/usr/bin/env node
// The `auditlog` command. The TypeScript sources are compiled to dist/ by `npm run build`
// (run by `npm install` through the `prepare` script, and by `npm start` and `npm test`).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`auditlog: ${err?.message ?? err}\n`);
    process.exitCode = 1;
  },
);

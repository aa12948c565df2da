#!/usr/bin/env node
// The `auditlog` command. The TypeScript sources are compiled to dist/ by `npm run build`
// (run by `npm install` through the `prepare` script, and by `npm start` and `npm test`).
import { main } from '../dist/src/cli/main.js';
import { oneLine } from '../dist/src/errors.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`auditlog: ${oneLine(String(err?.message ?? err))}\n`);
    process.exitCode = 1;
  },
);

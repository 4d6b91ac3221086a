#!/usr/bin/env node
// Thin launcher: the CLI is compiled from src/cli (run `npm run build` first).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { process.stderr.write(`cicada: ${err instanceof Error ? err.message : String(err)}\n`); process.exitCode = 1; },
);

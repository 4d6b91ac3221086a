#!/usr/bin/env node
// `npm start`: compile only when a TypeScript source (or the compiler configuration) is newer
// than the last build, so a start with nothing changed costs a directory walk (~30 ms), not a
// type-check of the whole project (15 s on a loaded two-core machine, even incremental).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const stamp = join(root, 'dist', '.build-stamp');

/** Newest modification time (ms) of the .ts files under dir. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (entry.name.endsWith('.ts')) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

const sources = Math.max(...['src', 'test', 'bench'].map((d) => newest(join(root, d))), mtime(join(root, 'tsconfig.json')), mtime(join(root, 'package.json')));
if (sources > mtime(stamp)) {
  const started = Date.now();
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root], { stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  writeFileSync(stamp, '');
  const now = new Date();
  utimesSync(stamp, now, now);
  process.stderr.write(`cicada: compiled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

#!/usr/bin/env node
/**
 * Start-up time of the `cicada` commands: each command is spawned --runs times (default 9) one
 * after the other and timed from spawn to exit; the table gives medians (and min) in ms, beside
 * `node -e 0` (Node's own start-up, the floor) and mosquitto_pub/mosquitto_sub where installed.
 * The publishing rows publish one message to a Cicada broker started on a free port of 127.0.0.1.
 *
 *   node bench/startup.mjs [--runs 9] [--json]      (run `npm run build` first)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'cicada.js');
const args = process.argv.slice(2);
const runs = Math.max(1, Math.min(100, Number(args[args.indexOf('--runs') + 1] ?? 9) || 9));
const json = args.includes('--json');

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

/** Wall time of one run, ms. */
function once(argv) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${argv.join(' ')} exited ${code}: ${err.trim()}`));
      else resolve(ms);
    });
  });
}

async function measure(name, argv) {
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await once(argv));
  times.sort((a, b) => a - b);
  return { name, median: times[Math.floor(times.length / 2)], min: times[0] };
}

const port = await freePort();
// In memory, no warm-up: nothing written to the working directory.
const dir = mkdtempSync(join(tmpdir(), 'cicada-startup-'));
writeFileSync(join(dir, 'cicada.conf'), 'persistence false\nwarm_up false\n');
const broker = spawn(process.execPath, [CLI, 'broker', '-p', String(port), '-c', join(dir, 'cicada.conf')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('the broker did not start in 20 s')), 20_000);
  broker.stdout.on('data', (d) => {
    if (String(d).includes(`127.0.0.1:${port}`)) {
      clearTimeout(timer);
      resolve();
    }
  });
  broker.on('exit', (code) => reject(new Error(`the broker exited ${code}`)));
});

const node = [process.execPath];
const cicada = [process.execPath, '--max-semi-space-size=4', CLI];
const pubArgs = ['-h', '127.0.0.1', '-p', String(port), '-t', 'startup/t', '-m', 'x'];
const rows = [];
try {
  rows.push(await measure('node -e 0 (floor)', [...node, '-e', '0']));
  rows.push(await measure('cicada --version', [...cicada, '--version']));
  rows.push(await measure('cicada pub --help', [...cicada, 'pub', '--help']));
  rows.push(await measure('cicada sub --help', [...cicada, 'sub', '--help']));
  rows.push(await measure('cicada passwd --help', [...cicada, 'passwd', '--help']));
  rows.push(await measure('cicada bench --help', [...cicada, 'bench', '--help']));
  rows.push(await measure('cicada pub -m x (QoS 0)', [...cicada, 'pub', ...pubArgs]));
  rows.push(await measure('cicada pub -m x -q 1', [...cicada, 'pub', ...pubArgs, '-q', '1']));
  rows.push(await measure('cicada sub -E (subscribe, exit)', [...cicada, 'sub', '-h', '127.0.0.1', '-p', String(port), '-t', 'startup/#', '-E']));
  if (has('mosquitto_pub')) rows.push(await measure('mosquitto_pub -m x (QoS 0)', ['mosquitto_pub', ...pubArgs]));
  if (has('mosquitto_sub')) rows.push(await measure('mosquitto_sub -E', ['mosquitto_sub', '-h', '127.0.0.1', '-p', String(port), '-t', 'startup/#', '-E']));
} finally {
  broker.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
const load = (await import('node:os')).loadavg()[0].toFixed(2);
if (json) {
  process.stdout.write(`${JSON.stringify({ runs, load, rows })}\n`);
} else {
  process.stdout.write(`start-up, ${runs} runs each, load ${load}\n| command | median ms | min ms |\n|---|---|---|\n`);
  for (const r of rows) process.stdout.write(`| ${r.name} | ${r.median.toFixed(1)} | ${r.min.toFixed(1)} |\n`);
}

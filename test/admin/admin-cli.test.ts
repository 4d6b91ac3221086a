// `cicada admin passwd USER`: a dashboard user's password set from the command line (two lines
// of stdin), taken by a running broker at the next login; bad input is one line and a non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/broker.js';
import { spawnProcess } from '../helpers/processes.js';
import { withTimeout } from '../helpers/wait.js';
import { call, startAdminBroker } from './helpers.js';

const BIN = fileURLToPath(new URL('../../../bin/cicada.js', import.meta.url));

/** Run cicada with `input` on stdin; its exit code and stderr. */
async function cicada(args: string[], input: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(input);
  const code = await withTimeout(new Promise<number | null>((resolve) => child.once('exit', resolve)), 20_000, `cicada ${args.join(' ')}`).finally(() => child.kill());
  return { code, stderr };
}

void test('cicada admin passwd admin: the running broker accepts the new password at the next login, not the old one', async () => {
  const b = await startAdminBroker();
  try {
    const result = await cicada(['admin', 'passwd', '-d', b.dir, 'admin'], 'new-admin-pw\nnew-admin-pw\n');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /dashboard user admin set in /);
    const old = await call(b.http, 'POST', '/api/v1/login', undefined, { username: 'admin', password: b.adminPassword });
    assert.equal(old.status, 401);
    const fresh = await call(b.http, 'POST', '/api/v1/login', undefined, { username: 'admin', password: 'new-admin-pw' });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body.role, 'administrator');
  } finally {
    await b.close();
  }
});

void test('cicada admin passwd: mismatched or short passwords and bad arguments fail with one line', async () => {
  const cases: Array<[string[], string, RegExp]> = [
    [['admin', 'passwd', '-d', '/tmp', 'x'], 'long-enough-1\nlong-enough-2\n', /Passwords do not match/],
    [['admin', 'passwd', '-d', '/tmp', 'x'], 'short\nshort\n', /at least 8 characters/],
    [['admin', 'passwd', '-d', '/tmp', '-r', 'root', 'x'], '', /role must be one of/],
    [['admin', 'passwd', '-d', '/tmp', 'bad name'], '', /letters, digits/],
    [['admin', 'frobnicate'], '', /expected: cicada admin passwd USER/],
  ];
  for (const [args, input, message] of cases) {
    const result = await cicada(args, input);
    assert.notEqual(result.code, 0, args.join(' '));
    assert.match(result.stderr, message, args.join(' '));
  }
});

void test('cicada broker without a configuration file serves the admin HTTP server on 127.0.0.1:18083 (or warns when it is taken)', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'cicada-admin-cli-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const broker = spawnProcess(process.execPath, [BIN, 'broker', '-p', String(await freePort())], { cwd });
  t.after(() => broker.exit(10_000));
  await broker.waitForOutput(' running: config none', 20_000);
  assert.match(broker.stdout, /dashboard user admin created with password \S+/);
  const served = broker.stdout.includes('listening on http://127.0.0.1:18083');
  const taken = broker.stdout.includes('running without the admin HTTP server');
  assert.ok(served !== taken, broker.stdout);
  if (served) assert.match(broker.stdout, /running: config none, .*listening on mqtt:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:18083 \(local only\)/);
  broker.kill('SIGTERM');
});

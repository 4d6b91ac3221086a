// `cicada admin passwd USER`: a dashboard user's password set from the command line (two lines
// of stdin), taken by a running broker at the next login; bad input is one line and a non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
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

// The process helper of the suite (test/helpers/processes.ts): a process that does not print what
// a test waits for is killed, so a failed start never leaves a process (and the run) waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnProcess } from '../helpers/processes.js';

test('waitForOutput: a process that does not print the text in time is killed, and the error says so', async () => {
  const silent = spawnProcess(process.execPath, ['-e', 'setInterval(() => undefined, 1000)']);
  await assert.rejects(silent.waitForOutput('listening', 300), /output "listening": not within 300 ms \(killed\)/);
  const result = await silent.done;
  assert.equal(result.signal, 'SIGKILL');
});

test('waitForOutput: a process that exits without printing the text fails at once, naming its exit code', async () => {
  const started = Date.now();
  const failing = spawnProcess(process.execPath, ['-e', 'console.error("cannot listen"); process.exit(3)']);
  await assert.rejects(failing.waitForOutput('listening', 10_000), /the process exited \(3\).*cannot listen/s);
  assert.ok(Date.now() - started < 5000, 'did not wait for the time-out');
  const ok = spawnProcess(process.execPath, ['-e', 'console.log("listening on 1883")']);
  await ok.waitForOutput('listening', 10_000);
});

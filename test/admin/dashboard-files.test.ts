// The dashboard's files: no HTML-parsing sink anywhere in them (data is only ever text), every
// module they import is there, and `npm pack` ships them all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dashboardDirectory } from '../../src/admin/routes-dashboard.js';

const dir = dashboardDirectory();
const files = readdirSync(dir);

void test('dashboard files: no innerHTML, outerHTML, insertAdjacentHTML, document.write, eval or new Function', () => {
  const sinks = /\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(/;
  for (const name of files.filter((f) => f.endsWith('.js') || f.endsWith('.html'))) {
    const lines = readFileSync(join(dir, name), 'utf8').split('\n');
    // The comment of dom.js names innerHTML to say it is never used; code lines are checked.
    const code = lines.filter((line) => !line.trimStart().startsWith('//'));
    assert.deepEqual(code.filter((line) => sinks.test(line)), [], `${name} uses an HTML-parsing sink`);
  }
});

void test('dashboard files: every module imported by another is there, and index.html loads app.js', () => {
  for (const name of files.filter((f) => f.endsWith('.js'))) {
    for (const [, target] of readFileSync(join(dir, name), 'utf8').matchAll(/from '\.\/([^']+)'/g)) {
      assert.ok(existsSync(join(dir, target!)), `${name} imports ./${target}, which is missing`);
    }
  }
  assert.match(readFileSync(join(dir, 'index.html'), 'utf8'), /<script type="module" src="\/dashboard\/app\.js">/);
});

void test('dashboard files: npm pack ships every one of them', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
  const packed = new Set((JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
  for (const name of files) assert.ok(packed.has(`src/admin/dashboard/${name}`), `src/admin/dashboard/${name} is not in the package`);
});

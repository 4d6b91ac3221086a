/**
 * The layer rules of eslint.config.js (ARCHITECTURE.md, "may import"): checked on source texts
 * given to ESLint under a path of src/, with only the two layer rules (no type information).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({
  cwd: root,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports' || ruleId === 'cicada/declared-layer',
});

/** The messages of the layer rules for `code` as the file `path` of the repository. */
async function layerErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, path) });
  return result!.messages.map((m) => `${m.ruleId ?? 'parser'}: ${m.message}`);
}

void test('a file in a folder of src/ that is not in the layer table is an error', async () => {
  const errors = await layerErrors('src/undeclared/thing.ts', 'export const a = 1;\n');
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0]!, /cicada\/declared-layer: src\/undeclared is not in the layer table/);
  const file = await layerErrors('src/undeclared.ts', 'export const a = 1;\n');
  assert.match(file.join('\n'), /src\/undeclared\.ts is not in the layer table/);
});

void test('every declared folder and file of src/ passes the declaration rule', async () => {
  for (const path of ['src/protocol/x.ts', 'src/broker/handlers/x.ts', 'src/admin/dashboard/x.ts', 'src/rules/x.ts', 'src/server.ts', 'src/index.ts', 'src/migrate.ts']) {
    assert.deepEqual(await layerErrors(path, 'export const a = 1;\n'), [], path);
  }
});

void test('an import against the layer table is an error, from nested folders too', async () => {
  const refused: Array<[string, string]> = [
    ['src/broker/x.ts', '../auth/index.js'],
    ['src/broker/handlers/x.ts', '../../transport/connection.js'],
    ['src/protocol/x.ts', '../topics/index.js'],
    ['src/rules/x.ts', '../auth/index.js'],
    ['src/rules/x.ts', '../storage/sqlite.js'],
    ['src/admin/x.ts', '../transport/listeners.js'],
    ['src/admin/dashboard/x.ts', '../../server.js'],
    ['src/transport/x.ts', '../auth/index.js'],
    ['src/config/x.ts', '../server.js'],
    ['src/index.ts', './storage/sqlite.js'],
  ];
  for (const [path, target] of refused) {
    const errors = await layerErrors(path, `import * as m from '${target}';\nexport const a = m;\n`);
    assert.equal(errors.length, 1, `${path} importing ${target}: ${errors.join('; ')}`);
    assert.match(errors[0]!, /no-restricted-imports: .* may not import src\//, errors[0]);
  }
});

void test('an import the layer table allows passes, a schema file of an outer folder included', async () => {
  const allowed: Array<[string, string]> = [
    ['src/broker/handlers/x.ts', '../../protocol/index.js'],
    ['src/transport/x.ts', '../auth/options.js'],
    ['src/transport/x.ts', '../config/schema.js'],
    ['src/config/x.ts', '../auth/options.js'],
    ['src/admin/x.ts', '../storage/sqlite.js'],
    ['src/rules/x.ts', '../topics/index.js'],
    ['src/server.ts', './transport/listeners.js'],
    ['src/cli/x.ts', '../migrate.js'],
    ['src/index.ts', './config/schema.js'],
  ];
  for (const [path, target] of allowed) {
    assert.deepEqual(await layerErrors(path, `import * as m from '${target}';\nexport const a = m;\n`), [], `${path} importing ${target}`);
  }
});

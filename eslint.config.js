// ESLint (flat config) with typescript-eslint: catches what tsc does not (floating promises,
// unused code) and enforces the layer rules of ARCHITECTURE.md with no-restricted-imports.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { join, relative, sep } from 'node:path';

/**
 * The layers of src/ (ARCHITECTURE.md), innermost first: each folder, or file directly in src/,
 * and what it may import: a folder, 'folder/file' for that one file only (a schema), or '*' for
 * everything. A file in a folder (or a file of src/) that is not in this table is an error
 * (cicada/declared-layer), so every new folder must be declared here.
 */
const layers = {
  protocol: [],
  topics: [],
  broker: ['protocol', 'topics'],
  log: ['broker'],
  storage: ['broker', 'protocol'],
  auth: ['broker', 'protocol', 'topics'],
  config: ['broker', 'protocol', 'rules', 'auth/options', 'log/logger'],
  transport: ['protocol', 'broker', 'auth/options', 'config/schema'],
  client: ['protocol'],
  admin: ['broker', 'protocol', 'topics', 'auth', 'log', 'storage', 'config/schema'],
  rules: ['broker', 'protocol', 'topics'],
  cli: ['*'],
  'migrate.ts': ['*'],
  'server.ts': ['*'],
  'index.ts': ['server.ts', 'broker', 'config/schema', 'auth/options', 'auth/scram', 'log/logger'],
};
const units = Object.keys(layers);
const isFile = (unit) => unit.endsWith('.ts');
const srcDir = join(import.meta.dirname, 'src');

/**
 * Import specifiers that reach `unit` from a file of `layer` (from nested folders too), except
 * the files of it that `layer` may import (gitignore negations: a bare folder pattern would
 * exclude the folder and make them impossible).
 */
function pathsTo(unit, layer, files) {
  const prefixes = isFile(layer) ? ['./'] : ['../', '../../', '../../../', '../../../../'];
  if (isFile(unit)) return prefixes.flatMap((p) => [`${p}${unit.replace(/\.ts$/, '.js')}`, `${p}${unit.replace(/\.ts$/, '')}`]);
  if (files.length === 0) return prefixes.flatMap((p) => [`${p}${unit}`, `${p}${unit}/*`]);
  return prefixes.flatMap((p) => [`${p}${unit}/*`, ...files.map((f) => `!${p}${unit}/${f}.js`)]);
}

/** The no-restricted-imports patterns of one layer: every other unit it may not import. */
function forbidden(layer, allowed) {
  if (allowed.includes('*')) return [];
  return units
    .filter((unit) => unit !== layer && !allowed.includes(unit))
    .map((unit) => {
      const files = allowed.filter((a) => a.startsWith(`${unit}/`)).map((a) => a.slice(unit.length + 1));
      const what = files.length > 0 ? ` except ${files.map((f) => `${unit}/${f}`).join(', ')}` : '';
      return { group: pathsTo(unit, layer, files), message: `src/${layer} may not import src/${unit}${what} (see the layer table in eslint.config.js and ARCHITECTURE.md)` };
    });
}

const layerRules = Object.entries(layers).map(([layer, allowed]) => ({
  files: [isFile(layer) ? `src/${layer}` : `src/${layer}/**/*.ts`],
  rules: { 'no-restricted-imports': ['error', { patterns: forbidden(layer, allowed) }] },
}));

/** cicada/declared-layer: a file of src/ must belong to a unit of the layer table. */
const declaredLayer = {
  meta: { type: 'problem', schema: [], messages: { undeclared: 'src/{{unit}} is not in the layer table of eslint.config.js: declare what it may import (and add it to ARCHITECTURE.md)' } },
  create(context) {
    const unit = relative(srcDir, context.filename).split(sep)[0];
    if (unit !== undefined && !units.includes(unit)) context.report({ loc: { line: 1, column: 0 }, messageId: 'undeclared', data: { unit } });
    return {};
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', 'scripts/**', 'bench/**/*.mjs', 'bench/results/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'describe', 'it', 'suite'], package: 'node:test' }],
      }],
    },
  },
  { files: ['src/**/*.ts'], plugins: { cicada: { rules: { 'declared-layer': declaredLayer } } }, rules: { 'cicada/declared-layer': 'error' } },
  {
    // The dashboard's browser modules (plain JS, served as they are): linted without type information.
    files: ['src/admin/dashboard/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'module',
      globals: Object.fromEntries(['window', 'document', 'location', 'sessionStorage', 'fetch', 'URL', 'Node', 'TextDecoder', 'TextEncoder', 'atob', 'confirm', 'setInterval', 'clearInterval', 'console'].map((name) => [name, 'readonly'])),
    },
  },
  ...layerRules,
);

// ESLint (flat config) with typescript-eslint: catches what tsc does not (floating promises,
// unused code) and enforces the layer rules of ARCHITECTURE.md with no-restricted-imports.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Layers, innermost first: each may import only the folders listed. */
const layers = {
  protocol: [],
  topics: [],
  broker: ['protocol', 'topics'],
  transport: ['protocol', 'broker'],
  config: ['broker', 'protocol'],
  client: ['protocol'],
  auth: ['broker', 'protocol', 'topics'],
  cli: ['protocol', 'topics', 'broker', 'transport', 'config', 'log', 'client', 'auth', 'admin'],
  log: ['broker'],
  storage: ['broker', 'protocol'],
  admin: ['broker', 'protocol', 'topics', 'auth', 'log', 'storage'],
};
const all = Object.keys(layers);

const layerRules = Object.entries(layers).map(([layer, allowed]) => ({
  files: [`src/${layer}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: all
        .filter((other) => other !== layer && !allowed.includes(other))
        .map((other) => ({ group: [`../${other}/*`, `../../${other}/*`, `../${other}`, `../../${other}`], message: `src/${layer} may not import src/${other} (see ARCHITECTURE.md)` })),
    }],
  },
}));

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

// Lint rules (import cycles are checked by dpdm: `npm run cycles`). Besides typescript-eslint's recommended set, they keep dependencies pointing inward:
// core has no I/O, and nothing but the composition root (server.ts) and tests knows a store
// implementation.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const IO_MODULES = ['node:fs', 'node:fs/promises', 'node:http', 'node:https', 'node:net', 'node:child_process', 'node:sqlite', 'undici', 'fastify', 'kysely', 'pino'];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.ecron/**', 'packages/console/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2024, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-imports': ['error', { patterns: [{ group: ['@ecron/*/src/*'], message: 'import a package by its public entry point' }] }],
    },
  },
  {
    files: ['packages/*/src/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 500, skipBlankLines: true, skipComments: true }] },
  },
  {
    files: ['packages/*/test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 1000, skipBlankLines: true, skipComments: true }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['packages/server/src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: IO_MODULES.map((name) => ({ name, message: 'core is pure: no I/O' })),
        patterns: [{ group: ['../store/*', '../scheduler/*', '../dispatch/*', '../api/*', '../cli/*', '../services/*', '../server*'], message: 'core depends on nothing of the server' }],
      }],
    },
  },
  {
    files: ['packages/server/src/{scheduler,dispatch,services,api}/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/store/sqlite/*', '**/store/postgres/*', '**/store/mysql/*'], message: 'depend on the Store interface (store/store.ts), not an implementation' },
          { group: ['**/cli/*'], message: 'the CLI sits on top; nothing imports it' },
        ],
      }],
    },
  },
  {
    files: ['packages/contracts/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@ecron/server', '@ecron/server/*', '../../server/*'], message: 'contracts depend on nothing of ecron' }] }],
    },
  },
);

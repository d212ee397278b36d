// Lint guards what review misses: floating promises (a lost charge) and
// non-deterministic or I/O code in the workflow sandbox.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code (and what it imports) is bundled into Temporal's deterministic sandbox.
    files: ['workflows/**/*.ts', 'shared.ts', 'errors.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'workflow code runs in a sandbox without Node built-ins' })),
            { name: '../config', message: 'workflows must not read the environment; pass values in the workflow input' },
            { name: '../logger', message: 'use log from @temporalio/workflow inside workflows' },
          ],
          patterns: [
            { group: ['../activities/*', '../activities'], allowTypeImports: true, message: 'import activities as types only' },
            { group: ['../db/*', '../api/*', '../worker/*'], message: 'workflows do no I/O' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'use sleep() from @temporalio/workflow' },
        { name: 'fetch', message: 'workflows do no I/O; call an activity' },
        { name: 'process', message: 'workflows must not read the environment' },
      ],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'workflow time comes from the SDK; prefer workflowInfo() or pass times in the input' }],
    },
  },
);

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
  // ---- import boundaries: which folder may import which (docs/design.md, "Code layout") ----
  boundary('workflows', 'workflows are deterministic orchestration; no I/O', ['db', 'api', 'worker', 'workflow-starts', 'stack', 'payments-stub', 'client', 'config', 'logger', 'outbound', 'accounts', 'temporal'], {
    typeOnly: ['activities'],
  }),
  boundary('domain', 'domain/ holds names and pure functions that workflow code imports: no I/O', [
    'db', 'api', 'activities', 'worker', 'workflows', 'workflow-starts', 'stack', 'payments-stub', 'client', 'config', 'logger', 'outbound', 'accounts', 'temporal',
  ]),
  boundary('accounts', 'accounts/ is API keys and their checks: SQL below it, nothing of the api, the worker or workflows', [
    'api', 'activities', 'worker', 'workflows', 'workflow-starts', 'stack', 'payments-stub', 'client', 'outbound',
  ]),
  boundary('api', 'the api never reaches the provider side or the worker', ['activities', 'worker', 'payments-stub', 'stack']),
  boundary('activities', 'activities are called by workflows; they never reach the api, the worker or the local stack', ['api', 'worker', 'workflows', 'stack', 'payments-stub']),
  boundary('db', 'db/ is the lowest layer: SQL over a pool, nothing above it', ['activities', 'workflows', 'api', 'worker', 'workflow-starts', 'stack', 'payments-stub', 'client', 'outbound', 'accounts']),
  boundary('outbound', 'outbound/ is network safety for outbound calls, used by the api and by activities: nothing above it', [
    'db', 'api', 'activities', 'worker', 'workflows', 'workflow-starts', 'stack', 'payments-stub', 'client',
  ]),
  boundary('workflow-starts', 'starting a workflow needs names and a client, nothing more', ['db', 'api', 'activities', 'worker', 'stack', 'payments-stub']),
  boundary('worker', 'the worker never reaches the api or the stub', ['api', 'payments-stub', 'stack']),
  boundary('temporal', 'temporal/ is how a process reaches Temporal (connection, data converter, keys): config and errors, nothing above', [
    'db', 'api', 'activities', 'worker', 'workflows', 'workflow-starts', 'stack', 'payments-stub', 'client', 'outbound', 'accounts', 'logger', 'observability',
  ]),
  boundary('observability', 'tracing and log correlation sit below the api, the worker and db/: they import none of them', [
    'db', 'api', 'activities', 'worker', 'workflows', 'workflow-starts', 'stack', 'payments-stub', 'client', 'outbound', 'accounts', 'logger',
  ], { typeOnly: ['config'] }),
  // the api process's entry point composes it: it may host a checkout worker for eager starts (API_EAGER_START)
  {
    files: ['api/main.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/activities', '**/activities/**', '**/payments-stub', '**/payments-stub/**', '**/stack', '**/stack/**'], message: 'api/main.ts may start the hosted worker, nothing else of that side' }] },
      ],
    },
  },
  ...standalone('payments-stub', 'the stub is a separate service: it imports nothing of ours but its own files'),
  ...standalone('client', 'the client is a library for other codebases: it imports nothing of ours'),
  ...standalone('webhook-receiver', "the example receiver is a merchant's code: it imports nothing of ours"),
  {
    // errors.ts is imported by workflow code too: plain classes and strings, nothing else
    files: ['errors.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: nodeBuiltins.map((name) => ({ name, message: 'workflow code imports errors.ts; no Node built-ins' })), patterns: [{ regex: '^\\./(?!domain/)', message: 'errors.ts may import only domain/ types' }] },
      ],
    },
  },
  {
    // Workflow code (and what it imports) is bundled into Temporal's deterministic sandbox.
    files: ['workflows/**/*.ts', 'domain/**/*.ts', 'errors.ts'],
    rules: {
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

/** Files under `folder` may not import the named top-level folders or modules (typeOnly: types only). */
function boundary(folder, why, forbidden, { typeOnly = [] } = {}) {
  // relative paths only: a glob like **/api would also forbid the package @opentelemetry/api
  const regexOf = (names) => `^(\\.{1,2}/)+(${names.join('|')})(/|$)`;
  const sandbox = ['workflows', 'domain'].includes(folder);
  return {
    files: [`${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: sandbox ? nodeBuiltins.map((name) => ({ name, message: 'workflow code runs in a sandbox without Node built-ins' })) : [],
          patterns: [
            { regex: regexOf(forbidden), message: `${folder}/ may not import this: ${why}` },
            ...(typeOnly.length ? [{ regex: regexOf(typeOnly), allowTypeImports: true, message: `${folder}/ imports these as types only` }] : []),
          ],
        },
      ],
    },
  };
}

/** Files under `folder` may import only each other (and packages): no relative path may climb out of it. */
function standalone(folder, why) {
  // one config per depth, since a pattern sees the import string, not the file it resolves to
  return [1, 2, 3].map((depth) => ({
    files: [`${folder}/${'*/'.repeat(depth - 1)}*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: `^(\\.\\./){${depth},}`, message: why }] }] },
  }));
}

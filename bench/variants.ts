// Settings the benchmark can run under, one change each against the defaults,
// so `npm run bench -- --compare baseline,<name>` measures it before and after
// in the same run. Results and verdicts: docs/performance.md.

export interface Variant {
  name: string;
  summary: string;
  /** environment for every service (worker and api settings from config.ts) */
  env?: Record<string, string>;
  /** the Temporal dev server keeps its state in memory instead of a SQLite file */
  temporalInMemory?: boolean;
  /** the Temporal dev server's SQLite pragmas; omitted: FILE_SQLITE_PRAGMAS */
  sqlitePragmas?: string[];
  /** the Temporal dev server's dynamic config, over DEV_SERVER_DYNAMIC_CONFIG */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** node flags for our services; omitted: SERVICE_NODE_FLAGS (stack/service-process.ts) */
  nodeFlags?: string[];
  /** build the workflow bundle once (bundleWorkflowCode) and hand it to the worker */
  prebuiltBundle?: boolean;
  /** run the workflows/ of this git revision (prebuilt bundle): the code before a workflow change */
  workflowsFromRevision?: string;
}

export const VARIANTS: Variant[] = [
  { name: 'baseline', summary: 'the defaults in config.ts and the SDK' },
  {
    name: 'fraud-remote',
    summary: 'the fraud check as a remote activity, as before commit c4dcb73 (workflows/ of its parent)',
    workflowsFromRevision: 'c4dcb73^',
  },
  {
    name: 'notify-remote',
    summary: "notification as a remote activity and the initial 'pending' upsert, as before commit 0a255f2",
    workflowsFromRevision: '0a255f2^',
  },
  // baseline since issue 16: the api hosts a checkout worker and starts checkouts eagerly (API_EAGER_START)
  {
    name: 'long-poll-result',
    summary: "API_RESULT_WAIT long-poll: the api waits for the workflow's result (the long poll) instead of hearing its hosted worker's commit",
    env: { API_RESULT_WAIT: 'long-poll' },
  },
  {
    name: 'no-eager-start',
    summary: 'API_EAGER_START 0: the one-task checkout started through the task queue and run by the worker process, as before eager start',
    env: { API_EAGER_START: '0' },
  },
  {
    // WORKER_WORKFLOW_BUNDLE reaches every service, the api's hosted worker too;
    // with API_EAGER_START 0 the api hosts none
    name: 'before-one-task',
    summary: 'the checkout before issue 16 (workflows/ of 91e3f96^: charge and ledger as regular activities, three workflow tasks), not started eagerly',
    workflowsFromRevision: '91e3f96^',
    env: { API_EAGER_START: '0' },
  },
  { name: 'sqlite-memory', summary: 'dev server SQLite in memory (no file: nothing survives a restart)', temporalInMemory: true },
  // baseline's dev server file runs in WAL mode (FILE_SQLITE_PRAGMAS) since this measured 3x better
  { name: 'sqlite-rollback-journal', summary: "dev server SQLite with the CLI's own defaults (rollback journal), as before WAL", sqlitePragmas: [] },
  // baseline's dev server runs with DEV_SERVER_DYNAMIC_CONFIG (eager activities)
  {
    name: 'no-eager-activities',
    summary: 'no eager activity execution (the server default): every activity task goes through the task queue, as before',
    dynamicConfig: { 'system.enableActivityEagerExecution': false },
  },
  {
    name: 'sa-cache',
    summary: "search attributes read from the server's cache (the CLI forces a refresh from SQLite on every read)",
    dynamicConfig: { 'system.forceSearchAttributesCacheRefreshOnRead': false },
  },
  {
    name: 'one-partition',
    summary: 'one task queue partition instead of the server default 4 (a task and a waiting poller meet in one place)',
    dynamicConfig: { 'matching.numTaskqueueReadPartitions': 1, 'matching.numTaskqueueWritePartitions': 1 },
  },
  {
    name: 'semi-space-16',
    summary: "Node 20's default young generation, 16 MiB a semi-space, as before (baseline: 4, SERVICE_NODE_FLAGS)",
    nodeFlags: [],
  },
  { name: 'semi-space-2', summary: "V8's young generation at 2 MiB a semi-space", nodeFlags: ['--max-semi-space-size=2'] },
  { name: 'wft-slots-100', summary: 'maxConcurrentWorkflowTaskExecutions 100 (SDK default 40)', env: { WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '100' } },
  { name: 'activity-slots-20', summary: 'maxConcurrentActivityTaskExecutions 20 (SDK default 100)', env: { WORKER_MAX_CONCURRENT_ACTIVITIES: '20' } },
  { name: 'no-cache', summary: 'maxCachedWorkflows 0: every workflow task replays the history, from the normal queue (none sticky)', env: { WORKER_MAX_CACHED_WORKFLOWS: '0' } },
  { name: 'no-v8-reuse', summary: 'reuseV8Context false (SDK default true)', env: { WORKER_REUSE_V8_CONTEXT: 'false' } },
  { name: 'prebuilt-bundle', summary: 'the worker loads a bundle built before it starts (WORKER_WORKFLOW_BUNDLE) instead of bundling at start', prebuiltBundle: true },
  { name: 'pool-4', summary: 'DATABASE_POOL_SIZE 4 per process (default 10)', env: { DATABASE_POOL_SIZE: '4' } },
  { name: 'pool-25', summary: 'DATABASE_POOL_SIZE 25 per process (default 10)', env: { DATABASE_POOL_SIZE: '25' } },
  { name: 'log-info', summary: 'LOG_LEVEL info (the default outside the bench): one JSON line per step', env: { LOG_LEVEL: 'info' } },
];

export function variantNamed(name: string): Variant {
  const variant = VARIANTS.find((v) => v.name === name);
  if (!variant) throw new Error(`unknown variant ${name}; known: ${VARIANTS.map((v) => v.name).join(', ')}`);
  return variant;
}

// Child process of the worker (worker/workflow-bundle.ts): bundles the
// workflow code and writes it to the file named by its one argument.
import fs from 'node:fs';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { WORKFLOWS_PATH } from './create-worker';

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: bundle-workflows <output file>');
  // webpack's report only at WARN: the worker logs the outcome itself
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  fs.writeFileSync(out, code);
}

main().catch((err: unknown) => {
  console.error(`bundling the workflow code failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});

// Child process of worker/workflow-bundle.ts: bundles the workflow code (the
// worker's own, or the workflows/index.ts given second) with the workflow
// interceptors (tracing) and the failure converter (failure messages encoded)
// into the file given first.
import fs from 'node:fs';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../temporal/data-converter';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from './create-worker';

async function main(): Promise<void> {
  const [out, workflowsPath = WORKFLOWS_PATH] = process.argv.slice(2);
  if (!out) throw new Error('usage: bundle-workflows <output file> [workflows entry]');
  // webpack's report only at WARN: the caller logs the outcome itself
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
  });
  fs.writeFileSync(out, code);
}

main().catch((err: unknown) => {
  console.error(`bundling the workflow code failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});

// Starts the bench stack under a variant's settings (building the workflow
// bundle first when the variant wants a prebuilt one).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../worker/create-worker';
import { BenchStack } from './bench-stack';
import type { Variant } from './variants';

export async function startStackFor(variant: Variant, log: (line: string) => void): Promise<BenchStack> {
  const env = { ...variant.env };
  if (variant.prebuiltBundle) {
    const t = Date.now();
    const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: undefined });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-bundle-')), 'workflow-bundle.js');
    fs.writeFileSync(file, code);
    log(`workflow bundle built in ${Date.now() - t} ms: ${file}`);
    env.WORKER_WORKFLOW_BUNDLE = file;
  }
  return BenchStack.start({ env, sqlitePragmas: variant.sqlitePragmas, log });
}

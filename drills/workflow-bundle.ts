// One workflow bundle for every worker and api of every drill in this run,
// built once (4-5 s on 2 cores) instead of by each process at its start: a
// drill that restarts the api or its workers waits for the restart, not for
// a bundler. A drill that sets WORKER_WORKFLOW_BUNDLE itself keeps its own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeWorkflowBundle } from '../worker/workflow-bundle';

let shared: Promise<string> | undefined;

/** The path of this run's bundle of workflows/, built on first use and removed when the process exits. */
export function drillWorkflowBundle(): Promise<string> {
  shared ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-drill-bundle-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'workflow-bundle.js');
    await writeWorkflowBundle(file);
    return file;
  })();
  return shared;
}

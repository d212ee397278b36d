// The worker's workflow code, bundled once for both of its Workers and in a
// child process: webpack and swc (a quarter of the worker's memory, native
// code and heap; docs/performance.md) never load into the long-running
// worker, and the code is bundled once instead of once per Worker.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const BUNDLER = path.join(__dirname, 'bundle-workflows.ts');

/** Bundling takes 2-5 s on 2 cores; this bounds a stuck child. */
const BUNDLE_TIMEOUT_MS = 120_000;

/** Bundles workflowsPath (default: this repository's workflows) into file, in a child process. */
export async function writeWorkflowBundle(file: string, workflowsPath?: string): Promise<void> {
  // the same node and loader (tsx) this process runs under; not its debugger port
  const nodeArgs = process.execArgv.filter((arg) => !arg.startsWith('--inspect'));
  try {
    await promisify(execFile)(process.execPath, [...nodeArgs, BUNDLER, file, ...(workflowsPath ? [workflowsPath] : [])], {
      timeout: BUNDLE_TIMEOUT_MS,
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`could not bundle the workflow code${stderr ? `: ${stderr}` : ''}`, { cause: err });
  }
}

export async function bundleWorkflowsInChildProcess(): Promise<{ code: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-workflow-bundle-'));
  const file = path.join(dir, 'workflow-bundle.js');
  try {
    await writeWorkflowBundle(file);
    return { code: fs.readFileSync(file, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Starts the bench stack under a variant's settings, building the workflow
// bundle first when the variant wants a prebuilt one or an older revision's
// workflows (the "before" of a workflow change).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeWorkflowBundle } from '../worker/workflow-bundle';
import { BenchStack } from './bench-stack';
import type { Variant } from './variants';

const ROOT = path.resolve(__dirname, '..');

export async function startStackFor(variant: Variant, log: (line: string) => void): Promise<BenchStack> {
  const env = { ...variant.env };
  let dir: string | undefined;
  if (variant.prebuiltBundle || variant.workflowsFromRevision) {
    const t = Date.now();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-bundle-'));
    const workflowsPath = variant.workflowsFromRevision ? checkoutWorkflowsAt(variant.workflowsFromRevision, dir) : undefined;
    const file = path.join(dir, 'workflow-bundle.js');
    await writeWorkflowBundle(file, workflowsPath);
    log(`workflow bundle${variant.workflowsFromRevision ? ` of ${variant.workflowsFromRevision}` : ''} built in ${Date.now() - t} ms: ${file}`);
    env.WORKER_WORKFLOW_BUNDLE = file;
  }
  try {
    return await BenchStack.start({ env, temporalInMemory: variant.temporalInMemory, sqlitePragmas: variant.sqlitePragmas, dynamicConfig: variant.dynamicConfig, nodeFlags: variant.nodeFlags, log });
  } finally {
    // the worker reads its bundle once, at start
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A copy of the repository with workflows/ as it was at `revision` (read with
 * git show, the work tree untouched): everything else is linked to the current
 * files, so the old workflow imports what it imported then.
 */
function checkoutWorkflowsAt(revision: string, dir: string): string {
  const tree = path.join(dir, 'tree');
  fs.mkdirSync(path.join(tree, 'workflows'), { recursive: true });
  for (const entry of fs.readdirSync(ROOT)) {
    if (entry !== 'workflows' && entry !== '.git') fs.symlinkSync(path.join(ROOT, entry), path.join(tree, entry));
  }
  const files = execFileSync('git', ['ls-tree', '--name-only', revision, 'workflows/'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n');
  for (const file of files) {
    fs.writeFileSync(path.join(tree, file), execFileSync('git', ['show', `${revision}:${file}`], { cwd: ROOT }));
  }
  return path.join(tree, 'workflows', 'index.ts');
}

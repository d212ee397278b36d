// Histories recorded from earlier versions of the checkout workflow must
// replay against the current code: a non-deterministic change fails here
// instead of breaking in-flight payments in production. They replay through
// the data converter the workers run with (the payload codec): histories
// recorded before payloads were encrypted must still decode.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { dataConverterOf } from '../../temporal/data-converter';
import { quietTemporalRuntime, testWorkerConfig } from '../support/stack';

const HISTORIES_DIR = path.join(__dirname, '..', 'histories');
const files = fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).sort();

describe('recorded checkout histories replay against the current workflow code', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
  });

  it.each(files)('%s', async (file) => {
    quietTemporalRuntime();
    const history = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8'));
    const dataConverter = dataConverterOf(testWorkerConfig().temporal.dataProtection);
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH, dataConverter }, history, file.replace(/\.json$/, ''));
  });
});

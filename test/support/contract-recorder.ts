// A vitest setup file: every answer fetch gets from a registered api
// (contract-origins.ts) is written as a JSON line to this run's contract
// folder (contract-setup.ts), for contract-setup.ts to check against the
// OpenAPI document when the run ends.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, inject } from 'vitest';
import type { RecordedAnswer } from './contract-check';
import { isContractOrigin } from './contract-origins';

const WRAPPED = Symbol.for('checkout.contract-recorder');
const dir = inject('contractDir');

if (dir && !(globalThis.fetch as { [WRAPPED]?: true })[WRAPPED]) {
  const file = path.join(dir, `${process.pid}.jsonl`);
  const realFetch = globalThis.fetch;
  const reading = new Set<Promise<void>>();

  const recordingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const res = await realFetch(input, init);
    const url = new URL(res.url || (input instanceof Request ? input.url : String(input)));
    if (!isContractOrigin(url.origin)) return res;
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const { currentTestName, testPath } = expect.getState();
    const test = `${path.relative(process.cwd(), testPath ?? '')} > ${currentTestName ?? '(outside a test)'}`;
    // a copy of the body, read beside the test's own reading of it
    const read = res
      .clone()
      .text()
      .then((body) => {
        const answer: RecordedAnswer = { method, path: url.pathname, status: res.status, headers: Object.fromEntries(res.headers), body, test };
        fs.appendFileSync(file, `${JSON.stringify(answer)}\n`);
      })
      .catch(() => {
        // the body was cut off (the test aborted the request): nothing whole to check
      })
      .finally(() => reading.delete(read));
    reading.add(read);
    return res;
  };
  globalThis.fetch = Object.assign(recordingFetch, { [WRAPPED]: true as const }) as typeof fetch;

  afterAll(async () => {
    await Promise.all(reading);
  });
}

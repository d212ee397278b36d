// Vitest global setup: gives this run a folder for contract-recorder.ts's
// records and, when the run ends, holds every recorded answer to the OpenAPI
// document. Any answer that does not match fails the run (vitest exits
// non-zero), listing each problem once with a test that saw it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { buildOpenApiDocument } from '../../api/openapi/document';
import { createContractChecker, type RecordedAnswer } from './contract-check';

declare module 'vitest' {
  export interface ProvidedContext {
    /** where this run's answers are recorded, one JSON line each */
    contractDir: string;
  }
}

const ROOT = path.join(__dirname, '..', '..', 'test-output', 'contract');

export default function setup(project: TestProject): () => void {
  // a folder per run: other runs in this checkout keep theirs
  const dir = path.join(ROOT, `${new Date().toISOString().replace(/[:.]/g, '-')}-${crypto.randomBytes(3).toString('hex')}`);
  fs.mkdirSync(dir, { recursive: true });
  project.provide('contractDir', dir);
  return () => checkRecordedAnswers(dir);
}

function checkRecordedAnswers(dir: string): void {
  const answers: RecordedAnswer[] = fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl'))
    .flatMap((name) => fs.readFileSync(path.join(dir, name), 'utf8').split('\n').filter(Boolean))
    .map((line) => JSON.parse(line) as RecordedAnswer);
  const check = createContractChecker(buildOpenApiDocument());
  const seen = new Map<string, { count: number; first: RecordedAnswer }>();
  const statuses = new Map<number, number>();
  for (const answer of answers) {
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    for (const problem of check(answer)) {
      const entry = seen.get(problem) ?? { count: 0, first: answer };
      entry.count += 1;
      seen.set(problem, entry);
    }
  }
  if (seen.size === 0) {
    const counts = [...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${n}`);
    console.log(`[contract] ${answers.length} answers of the api match the OpenAPI document${counts.length ? ` (${counts.join(', ')})` : ''}`);
    fs.rmSync(dir, { recursive: true, force: true });
    return;
  }
  const lines = [...seen].map(
    ([problem, { count, first }]) => `  - ${problem}\n      ${count}x, first in ${first.test}\n      ${first.path}: ${first.body.slice(0, 300)}`,
  );
  console.error(`[contract] ${seen.size} ways the api's answers differ from the OpenAPI document (api/openapi/):\n${lines.join('\n')}\n  records: ${dir}`);
  throw new Error(`contract: ${seen.size} ways the api's answers differ from the OpenAPI document (listed above)`);
}

// Every drill, in the order `npm run drill -- all` runs them (docs/design.md, "Failure scenarios and drills").
import type { Drill } from './drill';
import { backlog } from './scenarios/backlog';
import { crashAfterLedger } from './scenarios/crash-after-ledger';
import { duplicates } from './scenarios/duplicates';
import { keyReuse } from './scenarios/key-reuse';
import { lostResponse } from './scenarios/lost-response';
import { providerDown } from './scenarios/provider-down';
import { reconciliation } from './scenarios/reconciliation';
import { restart } from './scenarios/restart';
import { retryStorm } from './scenarios/retry-storm';
import { slowProvider } from './scenarios/slow-provider';
import { webhookOutage } from './scenarios/webhook-outage';
import { workerCrash } from './scenarios/worker-crash';

export const DRILLS: Drill[] = [
  duplicates,
  keyReuse,
  workerCrash,
  lostResponse,
  crashAfterLedger,
  slowProvider,
  providerDown,
  retryStorm,
  restart,
  backlog,
  webhookOutage,
  reconciliation,
];

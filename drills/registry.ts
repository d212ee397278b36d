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
import { slowClients } from './scenarios/slow-clients'; DRILLS.push(slowClients); // 300 connections trickling their bodies: checkouts still 201 in the budget, slow requests cut
import { dbOutage } from './scenarios/db-outage'; DRILLS.push(dbOutage); // Postgres down past the old ledger give-up window: no refund, all complete
import { rollingDeploy } from './scenarios/rolling-deploy'; DRILLS.push(rollingDeploy); // SIGTERM and replace each worker, then the api, under load: nothing cancelled, one charge each

// Every drill, in the order `npm run drill -- all` runs them (docs/design.md, "Failure scenarios and drills").
import type { Drill } from './drill';
import { apiCrash } from './scenarios/api-crash';
import { backlog } from './scenarios/backlog';
import { blackFriday } from './scenarios/black-friday';
import { crashAfterLedger } from './scenarios/crash-after-ledger';
import { dbOutage } from './scenarios/db-outage';
import { duplicates } from './scenarios/duplicates';
import { keyReuse } from './scenarios/key-reuse';
import { lostResponse } from './scenarios/lost-response';
import { providerDown } from './scenarios/provider-down';
import { rateLimit } from './scenarios/rate-limit';
import { reconciliation } from './scenarios/reconciliation';
import { restart } from './scenarios/restart';
import { retryStorm } from './scenarios/retry-storm';
import { rollingDeploy } from './scenarios/rolling-deploy';
import { slowClients } from './scenarios/slow-clients';
import { slowDb } from './scenarios/slow-db';
import { slowProvider } from './scenarios/slow-provider';
import { webhookOutage } from './scenarios/webhook-outage';
import { workerCrash } from './scenarios/worker-crash';

export const DRILLS: Drill[] = [
  duplicates,
  keyReuse,
  rateLimit,
  workerCrash,
  lostResponse,
  crashAfterLedger,
  slowProvider,
  providerDown,
  retryStorm,
  blackFriday,
  restart,
  backlog,
  webhookOutage,
  reconciliation,
  slowClients,
  dbOutage,
  slowDb,
  rollingDeploy,
  apiCrash,
];

// Outcomes the hosted checkout worker has just committed, for the api in the
// same process: a request waiting on a checkout it started eagerly hears its
// outcome the moment the recording step commits, without waiting for the
// workflow to complete and the result's long poll to answer. What is heard is
// what the payment row now stores, the answer every replay gets.
import type { CheckoutOutcome } from '../domain/checkout';

export class RecordedOutcomes {
  private readonly waiting = new Map<string, (outcome: CheckoutOutcome) => void>();

  /** Called by a recording activity after its commit. */
  recorded(workflowId: string, outcome: CheckoutOutcome): void {
    this.waiting.get(workflowId)?.(outcome);
  }

  /**
   * The outcome of workflowId once a recording step in this process commits
   * it; never settles if it is recorded elsewhere (a worker process, after a
   * retry). Registered at once, so call it before the start: an eager start's
   * task may record before the start call returns. The signal ends the wait.
   */
  wait(workflowId: string, signal: AbortSignal): Promise<CheckoutOutcome> {
    return new Promise((resolve) => {
      if (signal.aborted) return;
      const done = () => {
        if (this.waiting.get(workflowId) === settle) this.waiting.delete(workflowId);
        signal.removeEventListener('abort', done);
      };
      const settle = (outcome: CheckoutOutcome) => {
        done();
        resolve(outcome);
      };
      // a second request for the key in this process: the later one waits here, the first on its long poll
      this.waiting.set(workflowId, settle);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Requests waiting now (a gauge for leaks; 0 when idle). */
  get size(): number {
    return this.waiting.size;
  }
}

// The stub's capacity model (off by default), one per endpoint: a provider that
// serves `capacity_rps` well and saturates beyond it, as a real one does.
// - `concurrency` requests are in service at once; each holds its slot for at
//   least concurrency / capacity_rps seconds (its service time), longer when an
//   injected fault makes it slow or hang, as a thread stuck on a hiccup is;
// - the rest wait in a FIFO queue of `queue_limit`: latency rises with it;
// - beyond the queue a request is shed at once: 503 with Retry-After: 1.
// A request whose caller gave up is still served when its turn comes (a server
// does not notice), so timed-out work still costs capacity: what lets retries
// keep a saturated provider saturated.
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';

export const CAPACITY_ENDPOINTS = ['charges', 'refunds'] as const;
export type CapacityEndpoint = (typeof CAPACITY_ENDPOINTS)[number];

export interface CapacitySettings {
  capacity_rps: number;
  concurrency: number;
  queue_limit: number;
}

const DEFAULT_CONCURRENCY = 4;

/** One endpoint's capacity in PUT /faults; null turns the model off for it. */
export const capacityUpdateSchema = z
  .strictObject({
    capacity_rps: z.number().positive().max(100_000),
    concurrency: z.number().int().min(1).max(10_000).optional(),
    // default: two seconds of work at capacity
    queue_limit: z.number().int().min(0).max(1_000_000).optional(),
  })
  .nullable();

export type CapacityUpdate = z.infer<typeof capacityUpdateSchema>;

export function capacitySettingsOf(update: NonNullable<CapacityUpdate>): CapacitySettings {
  return {
    capacity_rps: update.capacity_rps,
    concurrency: update.concurrency ?? DEFAULT_CONCURRENCY,
    queue_limit: update.queue_limit ?? Math.ceil(update.capacity_rps * 2),
  };
}

export interface CapacityStats {
  in_service: number;
  queue: number;
  /** answered 503 at once: the queue was full */
  shed: number;
  /** served, whether or not the caller was still there */
  served: number;
  /** served after the caller had gone: capacity spent on nobody */
  abandoned: number;
  /** served with an injected fault instead of the operation */
  faulted: number;
}

/** What a request gets at the door: a slot to give back, or shed. */
export type Admission = { admitted: true; release(): void; serviceMs: number } | { admitted: false };

export class CapacityGate {
  private settings: CapacitySettings | null = null;
  private inService = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly counts = { shed: 0, served: 0, abandoned: 0, faulted: 0 };

  get current(): CapacitySettings | null {
    return this.settings && { ...this.settings };
  }

  set(update: CapacityUpdate): void {
    this.settings = update ? capacitySettingsOf(update) : null;
    // turning it off or widening it lets waiting requests in now
    this.admitWaiting();
  }

  stats(): CapacityStats {
    return { in_service: this.inService, queue: this.waiting.length, ...this.counts };
  }

  /** Waits for a slot (in FIFO order) or sheds; resolves at once when the model is off. */
  async enter(): Promise<Admission> {
    const settings = this.settings;
    if (!settings) return { admitted: true, release: () => {}, serviceMs: 0 };
    if (this.inService >= settings.concurrency) {
      if (this.waiting.length >= settings.queue_limit) {
        this.counts.shed++;
        return { admitted: false };
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.inService++;
    }
    let released = false;
    return {
      admitted: true,
      serviceMs: (1000 * settings.concurrency) / settings.capacity_rps,
      release: () => {
        if (released) return;
        released = true;
        this.inService--;
        this.admitWaiting();
      },
    };
  }

  /** Counts a served request: answered, answered to nobody, or given a fault. */
  served(outcome: 'answered' | 'abandoned' | 'faulted'): void {
    this.counts.served++;
    if (outcome !== 'answered') this.counts[outcome]++;
  }

  private admitWaiting(): void {
    const limit = this.settings?.concurrency ?? Number.POSITIVE_INFINITY;
    while (this.waiting.length > 0 && this.inService < limit) {
      this.inService++;
      (this.waiting.shift() as () => void)();
    }
  }
}

/** Holds a slot for at least its service time while `work` runs. */
export async function inService<T>(serviceMs: number, work: () => Promise<T>): Promise<T> {
  const [result] = await Promise.all([work(), serviceMs > 0 ? sleep(serviceMs) : undefined]);
  return result;
}

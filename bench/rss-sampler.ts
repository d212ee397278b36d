// Samples the resident memory of the api and the worker through a run, so the
// report has their size at the end and their growth since the warm-up.
import { rssMiB } from './process-rss';

export interface RssPoint {
  atS: number;
  apiMiB?: number;
  workerMiB?: number;
}

export class RssSampler {
  readonly points: RssPoint[] = [];
  private readonly started = Date.now();
  private timer?: NodeJS.Timeout;

  constructor(private readonly pids: { api?: number; worker?: number }) {}

  sample(): RssPoint {
    const point = { atS: Math.round((Date.now() - this.started) / 1000), apiMiB: rssMiB(this.pids.api), workerMiB: rssMiB(this.pids.worker) };
    this.points.push(point);
    return point;
  }

  start(everyMs: number): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  stop(): RssPoint {
    clearInterval(this.timer);
    return this.sample();
  }
}

/** Growth from the first to the last point, in percent of the first. */
export function growthPercent(first: number | undefined, last: number | undefined): number | undefined {
  if (first === undefined || last === undefined || first === 0) return undefined;
  return Math.round(((last - first) / first) * 1000) / 10;
}

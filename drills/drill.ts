import type { DrillStack, DrillStackOptions, Topology } from './drill-stack';

export interface DrillContext {
  short: boolean;
  /** the stack startStack starts: npm start's ('dev') or npm run start:cluster's ('cluster') */
  topology: Topology;
  log: (line: string) => void;
  /** Starts the stack this drill needs; the runner stops it, also on failure or Ctrl-C. */
  startStack(options?: Omit<DrillStackOptions, 'log' | 'topology'>): Promise<DrillStack>;
}

export interface DrillResult {
  /** The report table: one label and value a row. */
  rows: Array<[string, string | number]>;
  /** Drill-specific checks that failed (the invariants are checked by the runner). */
  failures: string[];
}

export interface Drill {
  name: string;
  summary: string;
  /** How long the full version takes on the 2-core reference machine. */
  fullDuration: string;
  /** the topologies it runs on; omitted: 'dev' only */
  topologies?: readonly Topology[];
  run(ctx: DrillContext): Promise<DrillResult>;
}

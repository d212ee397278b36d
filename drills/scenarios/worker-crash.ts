import type { Drill } from '../drill';

export const workerCrash: Drill = {
  name: 'worker-crash',
  summary: 'PLACEHOLDER',
  fullDuration: 'unknown',
  async run() {
    throw new Error('not implemented yet');
  },
};

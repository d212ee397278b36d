import type { Drill } from '../drill';

export const retryStorm: Drill = {
  name: 'retry-storm',
  summary: 'PLACEHOLDER',
  fullDuration: 'unknown',
  async run() {
    throw new Error('not implemented yet');
  },
};

import type { Drill } from '../drill';

export const slowProvider: Drill = {
  name: 'slow-provider',
  summary: 'PLACEHOLDER',
  fullDuration: 'unknown',
  async run() {
    throw new Error('not implemented yet');
  },
};

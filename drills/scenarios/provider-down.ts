import type { Drill } from '../drill';

export const providerDown: Drill = {
  name: 'provider-down',
  summary: 'PLACEHOLDER',
  fullDuration: 'unknown',
  async run() {
    throw new Error('not implemented yet');
  },
};

import type { Drill } from '../drill';

export const restart: Drill = {
  name: 'restart',
  summary: 'PLACEHOLDER',
  fullDuration: 'unknown',
  async run() {
    throw new Error('not implemented yet');
  },
};

import type { Drill } from '../drill';

export const backlog: Drill = {
  name: 'backlog',
  summary: 'PLACEHOLDER',
  fullDuration: 'unknown',
  async run() {
    throw new Error('not implemented yet');
  },
};

// The Temporal SDK's own logs as JSON lines, through our logger, in any
// process that runs a Worker (the worker, and the api hosting one).
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logger';

export function installSdkLogging(logger: Logger): void {
  const sdkLog = logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger('INFO', ({ level, message, meta }) => {
      const method = ({ TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const)[level as LogLevel];
      sdkLog[method](meta ?? {}, message);
    }),
    // signals are the process's own: the SDK's handling would stop its Workers out of order
    shutdownSignals: [],
  });
}

// The Temporal SDK's runtime, installed once per process that runs a Worker
// (the worker, and the api hosting one): its logs as JSON lines through our
// logger, and its own metrics (task latencies, slots, sticky cache, client
// requests) from its Prometheus exporter on a loopback port, which the
// process's /metrics appends to ours (metrics-server.ts).
import net from 'node:net';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logger';

export interface SdkRuntime {
  /** The SDK exporter's /metrics on loopback; undefined when it could not start. */
  metricsUrl?: string;
}

/**
 * Installs the Runtime; call before any NativeConnection. metricsPort 0 picks
 * a free loopback port. If the exporter cannot bind, the Runtime is installed
 * without it: the process runs, its /metrics serves ours alone.
 */
export async function installSdkRuntime(logger: Logger, options: { metricsPort: number }): Promise<SdkRuntime> {
  const sdkLog = logger.child({ component: 'temporal-sdk' });
  const runtimeLogger = new DefaultLogger('INFO', ({ level, message, meta }) => {
    const method = ({ TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const)[level as LogLevel];
    sdkLog[method](meta ?? {}, message);
  });
  // signals are the process's own: the SDK's handling would stop its Workers out of order
  const base = { logger: runtimeLogger, shutdownSignals: [] };
  try {
    const port = options.metricsPort || (await freeLoopbackPort());
    const bindAddress = `127.0.0.1:${port}`;
    Runtime.install({
      ...base,
      telemetryOptions: {
        metrics: {
          // Prometheus naming: seconds, the unit in the name, _total on counters
          prometheus: { bindAddress, useSecondsForDurations: true, unitSuffix: true, countersTotalSuffix: true },
        },
      },
    });
    return { metricsUrl: `http://${bindAddress}/metrics` };
  } catch (err) {
    logger.error({ err: (err as Error).message }, "the Temporal SDK's metrics exporter could not start; running without SDK metrics");
    Runtime.install(base);
    return {};
  }
}

/** A port nothing listens on right now, for the SDK's exporter (it cannot report one it picked itself). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

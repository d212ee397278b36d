// `npm run start:stub`: the fake payment provider as its own process.
import pino from 'pino';
import { ConfigError, loadConfig } from './config';
import { startStub } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel, base: { service: 'payments-stub' } });
  const stub = await startStub({
    port: config.port,
    host: config.host,
    latencyMs: config.latencyMs,
    failRate: config.failRate,
    faultMode: config.faultMode,
    logger,
  });
  logger.info(
    { url: stub.url, latencyMs: config.latencyMs, failRate: config.failRate ?? null, faultMode: config.faultMode },
    'payments stub listening',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'payments stub stopping');
    stub.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'payments stub failed to close');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  // A bad setting is the operator's to fix: one line naming it, no stack.
  if (err instanceof ConfigError) {
    console.error(`payments-stub: ${err.message}`);
  } else {
    pino({ base: { service: 'payments-stub' } }).fatal({ err }, 'payments stub failed to start');
  }
  process.exit(1);
});

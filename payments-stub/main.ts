// `npm run start:stub`: the fake payment provider as its own process.
import pino from 'pino';
import { loadConfig } from '../config';
import { startStub } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel, base: { service: 'payments-stub' } });
  const stub = await startStub({
    port: config.stub.port,
    host: config.api.host,
    latencyMs: config.stub.latencyMs,
    failRate: config.stub.failRate,
    faultMode: config.stub.faultMode,
    logger,
  });
  logger.info(
    { url: stub.url, latencyMs: config.stub.latencyMs, failRate: config.stub.failRate ?? null, faultMode: config.stub.faultMode },
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
  pino({ base: { service: 'payments-stub' } }).fatal({ err }, 'payments stub failed to start');
  process.exit(1);
});

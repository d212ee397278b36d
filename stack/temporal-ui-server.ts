// Temporal's Web UI server against a Temporal frontend, configured by
// deploy/temporal-ui/checkout.yaml (the address and port from the environment).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { waitForHttp, type ServiceProcess } from './service-process';

const ROOT = path.resolve(__dirname, '..');

/** Starts the UI server and waits until it serves its page; stop() stops it. */
export async function startTemporalUiServer(binary: string, temporalAddress: string, port: number): Promise<ServiceProcess> {
  const child = spawn(binary, ['--root', ROOT, '--config', 'deploy/temporal-ui', '--env', 'checkout', 'start'], {
    cwd: ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_UI_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-10_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const service: ServiceProcess = {
    name: 'temporal-ui',
    child,
    exited,
    tail: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/`, service, 30_000);
  } catch (err) {
    await service.stop();
    throw err;
  }
  return service;
}

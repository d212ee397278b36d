// Makes sure the Temporal CLI, the time-skipping test server and promtool exist
// (building or fetching them on first run) and prints where they are.
import { loadStackConfig } from '../config';
import { ensurePromtool, ensureTemporalCli, ensureTestServer } from '../stack/toolchain';

async function main(): Promise<void> {
  const { tools } = loadStackConfig();
  const log = (line: string) => console.log(`[provision] ${line}`);
  const cli = await ensureTemporalCli(tools, log);
  log(`Temporal CLI: ${cli}`);
  const testServer = await ensureTestServer(tools, log);
  log(`time-skipping test server: ${testServer}`);
  const promtool = await ensurePromtool(tools, log);
  log(`promtool: ${promtool}`);
}

main().catch((err: unknown) => {
  console.error(`[provision] failed: ${(err as Error).message}`);
  process.exit(1);
});

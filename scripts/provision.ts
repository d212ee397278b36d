// Makes sure the Temporal CLI, the time-skipping test server, promtool,
// Temporal's server and SQL tool (the cluster smoke and npm run start:cluster)
// and chromium (for the /docs browser test) exist, building, fetching or
// installing them on first run, and prints where they are.
import { loadStackConfig } from '../config';
import { ensureChromium, ensurePromtool, ensureTemporalCli, ensureTemporalServer, ensureTestServer } from '../stack/toolchain';

async function main(): Promise<void> {
  const { tools } = loadStackConfig();
  const log = (line: string) => console.log(`[provision] ${line}`);
  const cli = await ensureTemporalCli(tools, log);
  log(`Temporal CLI: ${cli}`);
  const testServer = await ensureTestServer(tools, log);
  log(`time-skipping test server: ${testServer}`);
  const promtool = await ensurePromtool(tools, log);
  log(`promtool: ${promtool}`);
  const server = await ensureTemporalServer(tools, log);
  log(`Temporal server (the cluster stack): ${server.server}, its SQL tool ${server.sqlTool}`);
  const chromium = await ensureChromium(process.env.CHROMIUM_PATH, log);
  log(`chromium (the /docs browser test): ${chromium}`);
}

main().catch((err: unknown) => {
  console.error(`[provision] failed: ${(err as Error).message}`);
  process.exit(1);
});

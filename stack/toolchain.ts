// Finds or provisions the binaries that are not npm packages: the Temporal
// CLI (dev server), promtool (checks the Prometheus config and alert rules in
// deploy/), and Temporal's server, schema tool and Web UI server (the cluster
// stack), built with `go install`, and the Java time-skipping
// test server fetched from Maven Central. All live in a cache outside the
// repo; a variable or a binary on PATH overrides each. And Debian's chromium,
// which the /docs browser test drives, installed with apt-get.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { StackConfig } from '../config';

export const TEMPORAL_CLI_VERSIONS = ['v1.5.1', 'v1.4.1']; // newer ones break `go install @version`
export const TEST_SERVER_VERSION = '1.38.0'; // keep in step with stack/test-server/pom.xml
// Prometheus 3.16.0's Go module version: keep in step with prom/prometheus in docker-compose.yml
export const PROMTOOL_VERSION = 'v0.316.0';
// The newest v1.30 server this machine's Go (1.26.8) builds: v1.30.9 needs Go 1.26.10.
// Keep in step with temporalio/server and temporalio/admin-tools in docker-compose.yml.
export const TEMPORAL_SERVER_VERSION = 'v1.30.8';
// The newest UI server Go 1.26.8 builds (v2.56.0 and later need 1.26.9 or newer); it embeds the built UI.
export const TEMPORAL_UI_SERVER_VERSION = 'v2.55.0';
const TEST_SERVER_POM = path.join(__dirname, 'test-server', 'pom.xml');

type Log = (line: string) => void;

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function ensureTemporalCli(tools: StackConfig['tools'], log: Log): Promise<string> {
  if (tools.temporalCli) return requireExecutable(tools.temporalCli, 'TEMPORAL_CLI');
  const onPath = findOnPath('temporal');
  if (onPath) return onPath;

  for (const version of TEMPORAL_CLI_VERSIONS) {
    const binDir = path.join(tools.cacheDir, `temporal-cli-${version}`);
    const binary = path.join(binDir, 'temporal');
    if (fs.existsSync(binary)) return binary;
  }
  for (const version of TEMPORAL_CLI_VERSIONS) {
    const binDir = path.join(tools.cacheDir, `temporal-cli-${version}`);
    log(`building the Temporal CLI ${version} with go install into ${binDir} (first run only; this may take several minutes)`);
    try {
      await runWithProgress('go', ['install', `github.com/temporalio/cli/cmd/temporal@${version}`], {
        env: { ...process.env, GOBIN: binDir, GOFLAGS: '-buildvcs=false' },
        label: `go install temporal@${version}`,
        log,
      });
      return requireExecutable(path.join(binDir, 'temporal'), `the ${version} build`);
    } catch (err) {
      log(`building the Temporal CLI ${version} failed: ${(err as Error).message}`);
    }
  }
  throw new Error(
    'no Temporal CLI: the go install builds failed; install one on PATH or set TEMPORAL_CLI to a binary',
  );
}

/** promtool, which checks deploy/prometheus.yml and deploy/alert-rules.yml: PROMTOOL, on PATH, or built with go install into the cache. */
export async function ensurePromtool(tools: StackConfig['tools'], log: Log): Promise<string> {
  if (tools.promtool) return requireExecutable(tools.promtool, 'PROMTOOL');
  const onPath = findOnPath('promtool');
  if (onPath) return onPath;

  const binDir = path.join(tools.cacheDir, `promtool-${PROMTOOL_VERSION}`);
  const binary = path.join(binDir, 'promtool');
  if (fs.existsSync(binary)) return binary;
  log(`building promtool ${PROMTOOL_VERSION} with go install into ${binDir} (first run only; about 5 minutes on 2 cores)`);
  await runWithProgress('go', ['install', `github.com/prometheus/prometheus/cmd/promtool@${PROMTOOL_VERSION}`], {
    env: { ...process.env, GOBIN: binDir, GOFLAGS: '-buildvcs=false' },
    label: `go install promtool@${PROMTOOL_VERSION}`,
    log,
  }).catch((err: unknown) => {
    throw new Error(`no promtool: ${(err as Error).message}; install one on PATH or set PROMTOOL to a binary`, { cause: err });
  });
  return requireExecutable(binary, `the promtool ${PROMTOOL_VERSION} build`);
}

export interface TemporalServerTools {
  server: string;
  sqlTool: string;
}

/**
 * Temporal's server and its SQL schema tool, from one module version:
 * TEMPORAL_SERVER and TEMPORAL_SQL_TOOL, temporal-server and temporal-sql-tool
 * on PATH (their names in Temporal's images), or built together with go
 * install into the cache (first run only; about 10 minutes on 2 cores).
 */
export async function ensureTemporalServer(tools: StackConfig['tools'], log: Log): Promise<TemporalServerTools> {
  const binDir = path.join(tools.cacheDir, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  const cached = { server: path.join(binDir, 'temporal-server'), sqlTool: path.join(binDir, 'temporal-sql-tool') };
  const server = tools.temporalServer ? requireExecutable(tools.temporalServer, 'TEMPORAL_SERVER') : findOnPath('temporal-server');
  const sqlTool = tools.temporalSqlTool ? requireExecutable(tools.temporalSqlTool, 'TEMPORAL_SQL_TOOL') : findOnPath('temporal-sql-tool');
  if (server && sqlTool) return { server, sqlTool };
  if (!fs.existsSync(cached.server) || !fs.existsSync(cached.sqlTool)) {
    const repo = 'go.temporal.io/server';
    log(`building the Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL tool with go install into ${binDir} (first run only; about 10 minutes on 2 cores)`);
    // go install names each binary after its folder (server, sql): renamed as Temporal's images name them
    await goInstall([`${repo}/cmd/server@${TEMPORAL_SERVER_VERSION}`, `${repo}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`], binDir, log).catch((err: unknown) => {
      throw new Error(
        `no Temporal server: ${(err as Error).message}; set TEMPORAL_SERVER and TEMPORAL_SQL_TOOL to binaries, or put temporal-server and temporal-sql-tool on PATH`,
        { cause: err },
      );
    });
    fs.renameSync(path.join(binDir, 'sql'), cached.sqlTool);
    fs.renameSync(path.join(binDir, 'server'), cached.server);
  }
  return { server: server ?? cached.server, sqlTool: sqlTool ?? cached.sqlTool };
}

/** Temporal's Web UI server: TEMPORAL_UI_SERVER, temporal-ui-server on PATH, or built with go install into the cache (first run only). */
export async function ensureTemporalUiServer(tools: StackConfig['tools'], log: Log): Promise<string> {
  if (tools.temporalUiServer) return requireExecutable(tools.temporalUiServer, 'TEMPORAL_UI_SERVER');
  const onPath = findOnPath('temporal-ui-server');
  if (onPath) return onPath;

  const binDir = path.join(tools.cacheDir, `temporal-ui-server-${TEMPORAL_UI_SERVER_VERSION}`);
  const binary = path.join(binDir, 'temporal-ui-server');
  if (fs.existsSync(binary)) return binary;
  log(`building the Temporal Web UI server ${TEMPORAL_UI_SERVER_VERSION} with go install into ${binDir} (first run only; a few minutes)`);
  await goInstall([`github.com/temporalio/ui-server/v2/cmd/server@${TEMPORAL_UI_SERVER_VERSION}`], binDir, log).catch((err: unknown) => {
    throw new Error(`no Temporal Web UI server: ${(err as Error).message}; set TEMPORAL_UI_SERVER to a binary, or put temporal-ui-server on PATH`, { cause: err });
  });
  fs.renameSync(path.join(binDir, 'server'), binary);
  return binary;
}

/** Returns an executable that starts the time-skipping test server as `<exe> <port> --enable-time-skipping`. */
export async function ensureTestServer(tools: StackConfig['tools'], log: Log): Promise<string> {
  if (tools.testServer) return requireExecutable(tools.testServer, 'TEMPORAL_TEST_SERVER');
  const onPath = findOnPath('temporal-test-server');
  if (onPath) return onPath;

  const home = path.join(tools.cacheDir, `test-server-${TEST_SERVER_VERSION}`);
  const libDir = path.join(home, 'lib');
  const wrapper = path.join(home, 'temporal-test-server');
  const marker = path.join(libDir, `temporal-test-server-${TEST_SERVER_VERSION}.jar`);
  if (!fs.existsSync(marker)) {
    log(`fetching Temporal's time-skipping test server ${TEST_SERVER_VERSION} with Maven into ${libDir} (first run only)`);
    await runWithProgress(
      'mvn',
      ['-q', '-B', '-f', TEST_SERVER_POM, 'dependency:copy-dependencies', `-DoutputDirectory=${libDir}`],
      { env: process.env, label: 'mvn dependency:copy-dependencies', log },
    );
    if (!fs.existsSync(marker)) throw new Error(`Maven finished but ${marker} is missing`);
  }
  // The wrapper is generated, not committed: it names this machine's cache path.
  fs.writeFileSync(
    wrapper,
    `#!/bin/sh\n# generated by stack/toolchain.ts\nexec java -cp '${libDir}/*' io.temporal.testserver.TestServer "$@"\n`,
    { mode: 0o755 },
  );
  return wrapper;
}

const NO_CHROMIUM =
  "no chromium for the /docs browser test: `npm run provision` installs Debian's chromium (apt-get, as root), or set CHROMIUM_PATH to a Chromium binary";

/** The chromium the browser test drives: CHROMIUM_PATH, else one on PATH. Never installs (ensureChromium does). */
export function requireChromium(override: string | undefined): string {
  if (override) return requireExecutable(override, 'CHROMIUM_PATH');
  const found = findOnPath('chromium') ?? findOnPath('chromium-browser');
  if (!found) throw new Error(NO_CHROMIUM);
  return found;
}

/** requireChromium, installing Debian's chromium with apt-get when there is none. */
export async function ensureChromium(override: string | undefined, log: Log): Promise<string> {
  if (override || findOnPath('chromium') || findOnPath('chromium-browser')) return requireChromium(override);
  if (!findOnPath('apt-get')) throw new Error(`${NO_CHROMIUM}; this machine has no apt-get to install it with`);
  if (process.getuid?.() !== 0) throw new Error(`${NO_CHROMIUM}; installing it needs root: apt-get update && apt-get install -y chromium`);
  log("installing Debian's chromium with apt-get, for the /docs browser test (first run only; a few minutes)");
  await runWithProgress('sh', ['-c', 'apt-get update && apt-get install -y chromium'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    label: 'apt-get install chromium',
    log,
  });
  return requireChromium(undefined);
}

function requireExecutable(file: string, what: string): string {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return path.resolve(file);
  } catch {
    throw new Error(`${what} points to ${file}, which is not an executable file`);
  }
}

/** go install of packages into binDir, with this machine's Go only (no toolchain download), a progress line meanwhile. */
async function goInstall(packages: string[], binDir: string, log: Log): Promise<void> {
  await runWithProgress('go', ['install', ...packages], {
    env: { ...process.env, GOBIN: binDir, GOFLAGS: '-buildvcs=false', GOTOOLCHAIN: 'local' },
    label: `go install ${packages.map((p) => p.split('/').slice(-2).join('/')).join(' ')}`,
    log,
  });
}

async function runWithProgress(
  command: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; label: string; log: Log },
): Promise<void> {
  const started = Date.now();
  const child = spawn(command, args, { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const ticker = setInterval(() => {
    opts.log(`  ... ${opts.label} still running (${Math.round((Date.now() - started) / 1000)} s)`);
  }, 30_000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0) throw new Error(`${opts.label} exited with ${code}: ${output.trim().split('\n').slice(-5).join(' | ')}`);
    opts.log(`  ${opts.label} done in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    clearInterval(ticker);
  }
}

// Static checks of docker-compose.yml, deploy/nginx.conf, the app-role init
// script, the Prometheus and Grafana provisioning and the Dockerfile. Nothing here needs Docker: the stack was written
// on a machine without an engine, so these checks are what stands between it
// and a user's `docker compose up`. Exposure by default is checked too: only
// the edge (and the Web UI, Prometheus and Grafana, on 127.0.0.1) publishes a port, secrets are
// required from the environment, the app's database role owns nothing.
// Every failure message says what to fix.
//
// CHECKOUT_COMPOSE_FILE=/path/to/docker-compose.yml checks another copy (the
// nginx.conf it mounts is found relative to that copy, as Docker would).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadApiConfig, loadStackConfig, loadWorkerConfig, type ApiConfig, type WorkerConfig } from '../../config';
import { loadConfig as loadStubConfig, STUB_CONFIG_VARIABLES, type StubConfig } from '../../payments-stub/config';
import { ConfigError } from '../../errors';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../../stack/temporal-dev-server';
import {
  DEFAULT_TEMPORAL_SERVER_PORTS,
  TEMPORAL_DATABASES,
  TEMPORAL_NAMESPACE_SCRIPT,
  TEMPORAL_SCHEMA_SCRIPT,
  TEMPORAL_SERVER_CONFIG,
  temporalServerEnv,
} from '../../stack/temporal-server';
import { TEMPORAL_SERVER_VERSION } from '../../stack/toolchain';
import { SEARCH_ATTRIBUTES as WORKFLOW_SEARCH_ATTRIBUTES } from '../../domain/search-attributes';
import { SearchAttributeType } from '@temporalio/common';

const COMPOSE_FILE = path.resolve(process.env.CHECKOUT_COMPOSE_FILE ?? path.join(__dirname, '..', '..', 'docker-compose.yml'));
const COMPOSE_DIR = path.dirname(COMPOSE_FILE);
const PACKAGE_JSON = path.join(__dirname, '..', '..', 'package.json');
const REPO = path.resolve(__dirname, '..', '..');

/** Services the product needs, and what each is for (said in failure messages). */
const REQUIRED_SERVICES: Record<string, string> = {
  postgres: "the app's Postgres (payments, ledger)",
  'temporal-postgres': "Temporal's own Postgres",
  'temporal-schema': "the one-shot job that sets up Temporal's schema (deploy/temporal-schema.sh)",
  temporal: 'the Temporal server',
  'temporal-setup': 'the one-shot job that makes the namespace and search attributes (deploy/temporal-namespace.sh)',
  'temporal-ui': 'the Temporal Web UI',
  'payments-stub': 'the fake payment provider',
  worker: 'the Temporal worker',
  api: 'the HTTP api',
  edge: 'the nginx edge proxy in front of the api',
  prometheus: "Prometheus, scraping the api's and the worker's metrics and evaluating the alert rules",
  grafana: 'Grafana with the on-call dashboard',
};

/** Services published on this machine's loopback only: they have no login of their own (or, for Grafana, anonymous viewers). */
const LOOPBACK_ONLY_SERVICES = ['temporal-ui', 'prometheus', 'grafana'];

/** The processes built from this repo, each configured only through config.ts. */
const APP_SERVICES = ['api', 'worker', 'payments-stub'] as const;

/** Search attributes the checkout workflow sets, as the CLI names their types; they must exist in the namespace. */
const SEARCH_ATTRIBUTES: Record<string, string> = Object.fromEntries(
  Object.values(WORKFLOW_SEARCH_ATTRIBUTES).map((key) => [key.name, key.type === SearchAttributeType.INT ? 'Int' : 'Keyword']),
);

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, unknown> | string[];
  ports?: unknown[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: unknown[];
  healthcheck?: { test?: string | string[] };
  expose?: (string | number)[];
}

interface ComposeFile {
  services?: Record<string, Service>;
}

const compose = parse(fs.readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as ComposeFile;
const services: Record<string, Service> = compose.services ?? {};

function service(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`${COMPOSE_FILE} has no service "${name}"`);
  return s;
}

/**
 * The one form of host variable this file may use: `${NAME:?message}`, a
 * secret compose requires from the environment and has no default for.
 */
const REQUIRED_VARIABLE = /\$\{([A-Z][A-Z0-9_]*):\?([^}$]+)\}/g;

/** What each required variable stands for in these checks: the same value wherever it is used, long enough for a pepper, URL-safe. */
const stand_in = (variable: string) => `${variable.toLowerCase()}-0123456789abcdef0123456789abcdef`;

/** A value as the process sees it, with each `${NAME:?message}` replaced by its stand-in. */
function interpolate(value: string): string {
  return value.replace(/\$\$/g, '\0').replace(REQUIRED_VARIABLE, (_, variable: string) => stand_in(variable)).replace(/\0/g, '$$');
}

/** The environment compose gives a service, as the strings the process sees (required variables by their stand-ins). */
function envOf(name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(rawEnvOf(name)).map(([key, value]) => [key, interpolate(value)]));
}

/** The environment as written in the file (`${NAME:?message}` left in). */
function rawEnvOf(name: string): Record<string, string> {
  const raw = service(name).environment ?? {};
  const env: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const eq = String(entry).indexOf('=');
      if (eq < 0) throw new Error(`service "${name}": environment entry "${entry}" has no value; it would be copied from the host's environment`);
      env[String(entry).slice(0, eq)] = String(entry).slice(eq + 1);
    }
    return env;
  }
  for (const [key, value] of Object.entries(raw)) {
    if (value === null || value === undefined) {
      throw new Error(`service "${name}": ${key} has no value; it would be copied from the host's environment`);
    }
    env[key] = String(value);
  }
  return env;
}

/** What a service's own config makes of its environment; a refusal names the service. */
function configOf<C>(name: string, load: (env: NodeJS.ProcessEnv) => C): C {
  try {
    return load(envOf(name));
  } catch (err) {
    throw new Error(`service "${name}": config.ts refuses its environment: ${(err as Error).message}`, { cause: err });
  }
}

const apiConfigOf = (name: string): ApiConfig => configOf(name, loadApiConfig);
const workerConfigOf = (name: string): WorkerConfig => configOf(name, loadWorkerConfig);
const stubConfigOf = (name: string): StubConfig => configOf(name, loadStubConfig);

/** The config a service's process loads, picked by the npm script it runs. */
function processConfigOf(name: string): ApiConfig | WorkerConfig | StubConfig {
  const command = commandOf(name);
  if (/\bstart:api\b/.test(command)) return apiConfigOf(name);
  if (/\bstart:worker\b/.test(command)) return workerConfigOf(name);
  if (/\bstart:stub\b/.test(command)) return stubConfigOf(name);
  throw new Error(`service "${name}" runs none of start:api, start:worker, start:stub: ${command}`);
}

/** The variables a service's process reads (the api and the worker share one anchor of settings). */
function variablesOf(name: string): string[] {
  return /\bstart:stub\b/.test(commandOf(name)) ? STUB_CONFIG_VARIABLES : CONFIG_VARIABLES;
}

/** The command line of a service as one string (entrypoint then command). */
function commandOf(name: string): string {
  const s = service(name);
  const part = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(' ') : (v ?? ''));
  return `${part(s.entrypoint)} ${part(s.command)}`.trim();
}

function imageOf(name: string): string {
  return service(name).image ?? '';
}

interface PortMapping {
  /** the host address it is published on; undefined: every interface */
  ip: string | undefined;
  host: number | undefined;
  container: number;
}

function portsOf(name: string): PortMapping[] {
  return (service(name).ports ?? []).map((p): PortMapping => {
    if (typeof p === 'object' && p !== null) {
      const o = p as { target?: unknown; published?: unknown; host_ip?: unknown };
      return { ip: o.host_ip === undefined ? undefined : String(o.host_ip), container: Number(o.target), host: o.published === undefined ? undefined : Number(o.published) };
    }
    // [ip:][host:]container, the ip possibly an [IPv6] in brackets
    const m = /^(?:(\[[^\]]+\]|[^:]+):(?=\d+:))?(?:(\d+):)?(\d+)(?:\/(?:tcp|udp))?$/.exec(String(p));
    const [ip, host, container] = m ? [m[1], m[2], m[3]] : [];
    if (!m) {
      throw new Error(`service "${name}": cannot read port mapping "${String(p)}" (port ranges are not supported here)`);
    }
    return { ip: ip?.replace(/^\[|\]$/g, ''), host: host === undefined ? undefined : Number(host), container: Number(container) };
  });
}

/** The host port a service publishes for one of its container ports. */
function publishedPort(name: string, containerPort: number): number | undefined {
  return portsOf(name).find((p) => p.container === containerPort)?.host;
}

function dependsOn(name: string): Record<string, string | undefined> {
  const raw = service(name).depends_on ?? {};
  if (Array.isArray(raw)) return Object.fromEntries(raw.map((d) => [d, undefined]));
  return Object.fromEntries(Object.entries(raw).map(([d, v]) => [d, v?.condition]));
}

// ---- the app's database role (deploy/postgres-app-role.sh) -------------------

/** The init script the postgres service runs on an empty volume: the role it creates, and the variable its password comes from. */
function appRoleScript(): { file: string; role: string; createRole: string; passwordVariable: string } {
  const mount = (service('postgres').volumes ?? [])
    .map(String)
    .find((v) => /^\/docker-entrypoint-initdb\.d\/[^/]+\.(sh|sql)$/.test(v.split(':')[1] ?? ''));
  if (!mount) throw new Error('service "postgres" mounts no init script into /docker-entrypoint-initdb.d/ (expected ./deploy/postgres-app-role.sh) to create the app\'s role');
  const file = path.resolve(COMPOSE_DIR, mount.split(':')[0] as string);
  const text = fs.readFileSync(file, 'utf8');
  const create = /CREATE ROLE\s+"?(\w+)"?([^;]*);/i.exec(text);
  if (!create) throw new Error(`${file} has no CREATE ROLE statement`);
  const password = /PASSWORD\s+:'(\w+)'/i.exec(create[2] ?? '')?.[1];
  const variable = password ? new RegExp(`${password}="\\$\\{?(\\w+)\\}?"`).exec(text)?.[1] : undefined;
  if (!variable) throw new Error(`${file}: CREATE ROLE must take its password from a psql variable set from the environment (--set app_password="$VAR")`);
  return { file: path.relative(COMPOSE_DIR, file), role: create[1] as string, createRole: create[0], passwordVariable: variable };
}

// ---- deploy/nginx.conf --------------------------------------------------------

interface NginxDirective {
  name: string;
  args: string[];
  block?: NginxDirective[];
}

/** A small parser for nginx's syntax: directives, quoted arguments, blocks, comments. */
function parseNginx(text: string): NginxDirective[] {
  const tokens: string[] = [];
  const re = /#[^\n]*|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|([^\s{};"'#]+)/g;
  for (const m of text.matchAll(re)) {
    if (m[0].startsWith('#')) continue;
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4] ?? '');
  }
  let i = 0;
  const readBlock = (): NginxDirective[] => {
    const out: NginxDirective[] = [];
    while (i < tokens.length) {
      const name = tokens[i++] ?? '';
      if (name === '}') return out;
      const args: string[] = [];
      while (i < tokens.length && tokens[i] !== ';' && tokens[i] !== '{') args.push(tokens[i++] ?? '');
      const end = tokens[i++];
      out.push(end === '{' ? { name, args, block: readBlock() } : { name, args });
    }
    return out;
  };
  return readBlock();
}

function allDirectives(tree: NginxDirective[]): NginxDirective[] {
  return tree.flatMap((d) => [d, ...(d.block ? allDirectives(d.block) : [])]);
}

/** nginx time ("10s", "500ms", "1m30s", "10" = seconds) in milliseconds. */
function nginxTimeMs(value: string): number {
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const parts = [...value.matchAll(/(\d+)(ms|s|m|h|d)?/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) throw new Error(`cannot read nginx time "${value}"`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? 's'] ?? NaN), 0);
}

/** Where the edge service mounts its nginx.conf from, relative to the compose file. */
function edgeNginxConfPath(): string {
  for (const v of service('edge').volumes ?? []) {
    const [source, target] = typeof v === 'string' ? v.split(':') : [(v as { source?: string }).source, (v as { target?: string }).target];
    if (source && target && /^\/etc\/nginx\/(nginx\.conf|conf\.d\/[^/]+\.conf)$/.test(target)) return path.resolve(COMPOSE_DIR, source);
  }
  throw new Error('service "edge" mounts no nginx configuration (expected ./deploy/nginx.conf:/etc/nginx/nginx.conf:ro in its volumes)');
}

function nginxDirectives(): NginxDirective[] {
  return allDirectives(parseNginx(fs.readFileSync(edgeNginxConfPath(), 'utf8')));
}

/** The port nginx listens on inside the edge container. */
function nginxListenPort(): number {
  const listen = nginxDirectives().find((d) => d.name === 'listen');
  const port = Number((listen?.args[0] ?? '').split(':').pop());
  if (!Number.isInteger(port)) throw new Error('deploy/nginx.conf has no `listen <port>;`');
  return port;
}

/** host and port of every proxy_pass, resolving `set $var ...` and upstream blocks. */
function nginxProxyTargets(): { host: string; port: number }[] {
  const tree = parseNginx(fs.readFileSync(edgeNginxConfPath(), 'utf8'));
  const all = allDirectives(tree);
  const vars = new Map(all.filter((d) => d.name === 'set').map((d) => [d.args[0] ?? '', d.args[1] ?? '']));
  const upstreams = new Map(
    all
      .filter((d) => d.name === 'upstream')
      .map((d) => [d.args[0] ?? '', (d.block ?? []).filter((s) => s.name === 'server').map((s) => s.args[0] ?? '')]),
  );
  return all
    .filter((d) => d.name === 'proxy_pass')
    .flatMap((d) => {
      const value = d.args[0] ?? '';
      const url = new URL(value.startsWith('$') ? (vars.get(value) ?? value) : value);
      const servers = upstreams.get(url.hostname) ?? [`${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`];
      return servers.map((s) => {
        const [host = '', port = '80'] = s.split(':');
        return { host, port: Number(port) };
      });
    });
}

// ---- who listens where ----------------------------------------------------------

/** The port a service listens on inside its container, from its image or config.ts. */
function listeningPort(name: string): number | undefined {
  const image = imageOf(name);
  const env = services[name]?.environment ? envOf(name) : {};
  if (image.startsWith('postgres:')) return Number(env.PGPORT ?? 5432);
  if (/^temporalio\/(auto-setup|server):/.test(image)) return Number(env.FRONTEND_GRPC_PORT ?? 7233);
  if (image.startsWith('temporalio/ui:')) return Number(env.TEMPORAL_UI_PORT ?? 8080);
  if (image.startsWith('nginx:')) return nginxListenPort();
  if (image.startsWith('prom/prometheus:')) return Number(/--web\.listen-address=[^:]*:(\d+)/.exec(commandOf(name))?.[1] ?? 9090);
  if (image.startsWith('grafana/grafana:')) return Number(env.GF_SERVER_HTTP_PORT ?? 3000);
  const command = commandOf(name);
  if (/\bstart:api\b/.test(command)) return apiConfigOf(name).api.port;
  if (/\bstart:stub\b/.test(command)) return stubConfigOf(name).port;
  return undefined;
}

/** Checks that host:port names a service of this file that listens on that port. */
function expectPointsAtService(from: string, variable: string, host: string, port: number, expected: string): void {
  expect(
    host,
    `service "${from}": ${variable} points at host "${host}", but the service "${expected}" is the one it must reach`,
  ).toBe(expected);
  expect(services[host], `service "${from}": ${variable} names host "${host}", which is no service in docker-compose.yml`).toBeDefined();
  expect(
    port,
    `service "${from}": ${variable} uses port ${port}, but service "${host}" listens on ${listeningPort(host)} inside its container`,
  ).toBe(listeningPort(host));
}

function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/** Every string anywhere below a value (for the `$` check). */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

// ---- the checks ------------------------------------------------------------------

describe('docker-compose.yml', () => {
  it('defines every service the product needs', () => {
    for (const [name, role] of Object.entries(REQUIRED_SERVICES)) {
      expect(services[name], `docker-compose.yml has no service "${name}" (${role})`).toBeDefined();
    }
    const setup = Object.keys(services).filter((n) => imageOf(n).startsWith('temporalio/admin-tools:'));
    expect(setup, 'docker-compose.yml needs a service on temporalio/admin-tools that registers the search attributes').not.toHaveLength(0);
  });

  it('pins every image to a version', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!s.image) continue;
      const tag = s.image.includes(':') ? s.image.slice(s.image.lastIndexOf(':') + 1) : '';
      expect(tag, `service "${name}": image "${s.image}" has no version tag; pin one so every user gets the same stack`).not.toBe('');
      expect(tag, `service "${name}": image "${s.image}" uses "latest"; pin a version`).not.toBe('latest');
    }
  });

  it('builds the app services from this repo and runs npm scripts that exist', () => {
    const scripts = (JSON.parse(fs.readFileSync(PACKAGE_JSON, 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const name of APP_SERVICES) {
      const build = service(name).build;
      expect(build, `service "${name}" must be built from this repo's Dockerfile (build: .)`).toBeDefined();
      const context = typeof build === 'string' ? build : (build?.context ?? '.');
      const dockerfile = typeof build === 'object' && build.dockerfile ? build.dockerfile : 'Dockerfile';
      const file = path.resolve(COMPOSE_DIR, context, dockerfile);
      expect(fs.existsSync(file), `service "${name}" builds from ${file}, which does not exist`).toBe(true);
      const script = /npm run ([\w:-]+)/.exec(commandOf(name))?.[1];
      expect(script, `service "${name}" must run an npm script (command: npm run ...)`).toBeDefined();
      expect(Object.keys(scripts), `service "${name}" runs "npm run ${script}", which package.json does not define`).toContain(script);
    }
    expect(commandOf('api')).toMatch(/\bstart:api\b/);
    expect(commandOf('worker')).toMatch(/\bstart:worker\b/);
    expect(commandOf('payments-stub')).toMatch(/\bstart:stub\b/);
  });

  it('takes nothing from the host environment but required secrets, ${NAME:?message}', () => {
    for (const [name, s] of Object.entries(services)) {
      const lines = strings(s).flatMap((text) => text.split('\n'));
      const lone = lines.filter((line) => line.replace(/\$\$/g, '').replace(REQUIRED_VARIABLE, '').includes('$')).map((line) => line.trim());
      expect(
        lone,
        `service "${name}" has a "$" in these lines that compose substitutes from the host's environment: write "$$" for the shell, or \${NAME:?message} for a required secret (never a default, \${NAME:-...})`,
      ).toEqual([]);
    }
  });

  it('depends only on services that exist', () => {
    for (const name of Object.keys(services)) {
      for (const dep of Object.keys(dependsOn(name))) {
        expect(services[dep], `service "${name}" depends on "${dep}", which is no service in docker-compose.yml`).toBeDefined();
      }
    }
  });

  describe.each(APP_SERVICES)('service %s', (name) => {
    it('sets only variables that config.ts reads', () => {
      const known = variablesOf(name);
      const unknown = Object.keys(envOf(name)).filter((v) => !known.includes(v));
      expect(
        unknown,
        `service "${name}" sets ${unknown.join(', ')}, which its config does not read (a typo, or a setting that silently does nothing). It reads: ${known.join(', ')}`,
      ).toEqual([]);
    });

    it('has an environment that config.ts accepts (names, values, budget order)', () => {
      // configOf throws with the service's name and config.ts's full reason.
      expect(processConfigOf(name)).toBeDefined();
    });

    it('listens on all interfaces so other containers can reach it', () => {
      // the worker listens for its metrics only, which prometheus scrapes
      const config = processConfigOf(name);
      expect('api' in config ? config.api.host : 'host' in config ? config.host : undefined, `service "${name}": set HOST=0.0.0.0; config.ts defaults to 127.0.0.1, unreachable from other containers`).toBe('0.0.0.0');
    });
  });

  it('points the api and the worker at the Temporal, Postgres and payments-stub services of this file', () => {
    const db = envOf('postgres');
    const appRole = appRoleScript();
    for (const [name, config] of [['api', apiConfigOf('api')], ['worker', workerConfigOf('worker')]] as const) {
      const temporal = splitHostPort(config.temporal.address);
      expectPointsAtService(name, 'TEMPORAL_ADDRESS', temporal.host, temporal.port, 'temporal');

      expect(config.database.embedded, `service "${name}": set DATABASE_URL to the "postgres" service; unset, the process would start an embedded Postgres inside its container`).toBe(false);
      for (const [variable, value] of [['DATABASE_URL', config.database.url], ['DATABASE_MIGRATION_URL', config.database.migrationUrl]] as const) {
        const url = new URL(value);
        expectPointsAtService(name, variable, url.hostname, Number(url.port || 5432), 'postgres');
        expect(url.pathname.slice(1), `service "${name}": ${variable} database must be POSTGRES_DB of service "postgres"`).toBe(db.POSTGRES_DB ?? db.POSTGRES_USER);
      }
      // migrations as the owner; the app as the role the init script makes, which owns nothing
      const owner = new URL(config.database.migrationUrl);
      expect(decodeURIComponent(owner.username), `service "${name}": DATABASE_MIGRATION_URL user must be POSTGRES_USER of service "postgres" (the tables' owner)`).toBe(db.POSTGRES_USER);
      expect(decodeURIComponent(owner.password), `service "${name}": DATABASE_MIGRATION_URL password must be POSTGRES_PASSWORD of service "postgres"`).toBe(db.POSTGRES_PASSWORD);
      const app = new URL(config.database.url);
      expect(decodeURIComponent(app.username), `service "${name}": DATABASE_URL must log in as the role ${appRole.file} creates, not as the owner`).toBe(appRole.role);
      expect(decodeURIComponent(app.password), `service "${name}": DATABASE_URL password must be ${appRole.passwordVariable} of service "postgres" (what ${appRole.file} sets)`).toBe(
        db[appRole.passwordVariable],
      );
    }
    const payments = new URL(workerConfigOf('worker').paymentsUrl);
    expectPointsAtService('worker', 'PAYMENTS_URL', payments.hostname, Number(payments.port || 80), 'payments-stub');
  });

  it('gives the api and the worker the same Temporal namespace, task queue, database and budgets', () => {
    const api = apiConfigOf('api');
    const worker = workerConfigOf('worker');
    expect(worker.temporal, 'api and worker must use the same TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and TEMPORAL_TASK_QUEUE').toEqual(api.temporal);
    expect(worker.database.url, 'api and worker must use the same DATABASE_URL').toBe(api.database.url);
    expect(worker.database.migrationUrl, 'api and worker must use the same DATABASE_MIGRATION_URL').toBe(api.database.migrationUrl);
    expect(worker.budgets.chargeMs, 'api and worker must have the same CHARGE_TIMEOUT_MS (docs/design.md, "Timeout budget")').toBe(api.budgets.chargeMs);
  });

  it('points the Temporal server, its schema job, the UI and the setup at the right services', () => {
    const tpg = envOf('temporal-postgres');
    for (const name of ['temporal', 'temporal-schema']) {
      const env = envOf(name);
      expectPointsAtService(name, 'POSTGRES_SEEDS', env.POSTGRES_SEEDS ?? '', Number(env.DB_PORT ?? 5432), 'temporal-postgres');
      expect(env.POSTGRES_USER, `service "${name}": POSTGRES_USER must match POSTGRES_USER of "temporal-postgres"`).toBe(tpg.POSTGRES_USER);
      expect(env.POSTGRES_PWD, `service "${name}": POSTGRES_PWD must match POSTGRES_PASSWORD of "temporal-postgres"`).toBe(tpg.POSTGRES_PASSWORD);
    }
    expect(dependsOn('temporal')['temporal-schema'], 'service "temporal" must wait for temporal-schema to complete successfully').toBe('service_completed_successfully');
    const setup = envOf('temporal-setup');
    expect(setup.TEMPORAL_NAMESPACE, 'service "temporal-setup" must make the namespace the api and the worker use').toBe(apiConfigOf('api').temporal.namespace);
    const target = splitHostPort(setup.TEMPORAL_ADDRESS ?? '');
    expectPointsAtService('temporal-setup', 'TEMPORAL_ADDRESS', target.host, target.port, 'temporal');

    const ui = splitHostPort(envOf('temporal-ui').TEMPORAL_ADDRESS ?? '');
    expectPointsAtService('temporal-ui', 'TEMPORAL_ADDRESS', ui.host, ui.port, 'temporal');
  });

  it('publishes only the edge, and the Web UI, Prometheus and Grafana on 127.0.0.1', () => {
    // everything else (the api's own port, the metrics ports, the Temporal frontend, both Postgres, the stub) has no authentication of its own
    const published = Object.keys(services).filter((n) => portsOf(n).length > 0);
    const allowed = ['edge', ...LOOPBACK_ONLY_SERVICES];
    const stray = published.filter((n) => !allowed.includes(n));
    expect(stray, `only ${allowed.join(', ')} may publish ports (expose: is fine for the others)`).toEqual([]);
    expect(publishedPort('edge', nginxListenPort()), 'service "edge" must publish the port nginx listens on (host port 8080)').toBe(8080);
    const defaults = loadStackConfig({});
    const ui = portsOf('temporal-ui');
    expect(publishedPort('temporal-ui', listeningPort('temporal-ui') ?? 8080), `service "temporal-ui" must publish the Web UI on host port ${defaults.temporal.uiPort}`).toBe(defaults.temporal.uiPort);
    for (const p of ui) expect(p.ip, `service "temporal-ui" must publish on 127.0.0.1 only ("127.0.0.1:${p.host}:${p.container}"): the Web UI has no login`).toBe('127.0.0.1');
    for (const name of LOOPBACK_ONLY_SERVICES) {
      for (const p of portsOf(name)) {
        expect(p.ip, `service "${name}" must publish on 127.0.0.1 only ("127.0.0.1:${p.host}:${p.container}"): it has no login, or lets anyone view without one`).toBe('127.0.0.1');
      }
    }

    const hostPorts = Object.keys(services).flatMap((n) => portsOf(n).flatMap((p) => (p.host === undefined ? [] : [`${p.host} (${n})`])));
    const seen = new Map<string, string>();
    for (const entry of hostPorts) {
      const port = entry.split(' ')[0] ?? '';
      expect(seen.get(port), `host port ${port} is published twice: ${seen.get(port)} and ${entry}`).toBeUndefined();
      seen.set(port, entry);
    }
  });

  it('requires its secrets from the environment (${NAME:?message}), with no default', () => {
    const required = (where: string, value: string | undefined) =>
      expect(value ?? '', `${where} must be exactly \${NAME:?message}: a secret compose requires from the environment, never a value in this file`).toMatch(
        /^\$\{[A-Z][A-Z0-9_]*:\?[^}$]+\}$/,
      );
    required('service "api": API_KEY_PEPPER', rawEnvOf('api').API_KEY_PEPPER);
    required('service "postgres": POSTGRES_PASSWORD', rawEnvOf('postgres').POSTGRES_PASSWORD);
    required(`service "postgres": ${appRoleScript().passwordVariable}`, rawEnvOf('postgres')[appRoleScript().passwordVariable]);
    required('service "temporal-postgres": POSTGRES_PASSWORD', rawEnvOf('temporal-postgres').POSTGRES_PASSWORD);
    required('service "temporal": POSTGRES_PWD', rawEnvOf('temporal').POSTGRES_PWD);
    required('service "grafana": GF_SECURITY_ADMIN_PASSWORD', rawEnvOf('grafana').GF_SECURITY_ADMIN_PASSWORD);
    for (const name of ['api', 'worker']) {
      for (const variable of ['DATABASE_URL', 'DATABASE_MIGRATION_URL']) {
        required(`service "${name}": the password in ${variable}`, /^postgres:\/\/[^:@/]+:(.*)@[^@]+$/.exec(rawEnvOf(name)[variable] ?? '')?.[1]);
      }
    }
  });

  it('runs the api and the worker as production: the api refuses to start without its pepper, private webhook targets stay refused', () => {
    for (const name of ['api', 'worker']) {
      expect(envOf(name).CHECKOUT_ENV, `service "${name}": set CHECKOUT_ENV=production`).toBe('production');
      expect(envOf(name).WEBHOOK_ALLOW_PRIVATE_NETWORKS, `service "${name}": leave WEBHOOK_ALLOW_PRIVATE_NETWORKS unset (webhook endpoints could reach the compose network)`).toBeUndefined();
    }
    const withoutPepper = envOf('api');
    delete withoutPepper.API_KEY_PEPPER;
    expect(() => loadApiConfig(withoutPepper), 'config.ts must refuse the api without API_KEY_PEPPER in production').toThrow(/API_KEY_PEPPER/);
  });

  it('makes the app its own database role with an init script, as no superuser', () => {
    const script = appRoleScript();
    const statement = script.createRole.toUpperCase();
    for (const attribute of ['LOGIN', 'NOSUPERUSER', 'NOCREATEDB', 'NOCREATEROLE']) {
      expect(statement, `${script.file}: CREATE ROLE ${script.role} must say ${attribute}`).toMatch(new RegExp(`\\b${attribute}\\b`));
    }
    expect(script.role, `${script.file}: the app's role must not be POSTGRES_USER, who owns the tables`).not.toBe(envOf('postgres').POSTGRES_USER);
  });

  it('trusts one proxy hop for the client address, the edge, which sets X-Forwarded-For', () => {
    expect(apiConfigOf('api').trustProxyHops, 'service "api": set API_TRUST_PROXY=1 (the edge is the one proxy in front of it)').toBe(1);
    const forwarded = nginxDirectives().filter((d) => d.name === 'proxy_set_header' && d.args[0]?.toLowerCase() === 'x-forwarded-for');
    expect(forwarded.map((d) => d.args[1]), 'deploy/nginx.conf must set X-Forwarded-For to the client address ($remote_addr)').toEqual(['$remote_addr']);
  });

  it('registers the search attributes the workflow sets, with their types, before the api or the worker starts', () => {
    // deploy/temporal-namespace.sh, which temporal-setup runs (checked below), lists them as name:type
    const script = fs.readFileSync(path.join(REPO, TEMPORAL_NAMESPACE_SCRIPT), 'utf8');
    const list = /^search_attributes="([^"]*)"/m.exec(script)?.[1];
    expect(list, `${TEMPORAL_NAMESPACE_SCRIPT} must list the attributes as search_attributes="Name:Type ..."`).toBeDefined();
    const registered = Object.fromEntries((list ?? '').split(/\s+/).filter(Boolean).map((pair) => pair.split(':') as [string, string]));
    expect(registered, `${TEMPORAL_NAMESPACE_SCRIPT}: the search attributes must be those domain/search-attributes.ts declares`).toEqual(SEARCH_ATTRIBUTES);
    for (const name of ['api', 'worker']) {
      expect(
        dependsOn(name)['temporal-setup'],
        `service "${name}" must depend on temporal-setup with condition service_completed_successfully, so no checkout starts before its search attributes exist`,
      ).toBe('service_completed_successfully');
    }
  });
});

// ---- one set of Temporal files for docker-compose and npm run start:cluster ------

/** deploy/temporal-server.yaml without its {{ if }} ... {{ end }} blocks (settings that apply only when a variable is set, e.g. TLS). */
function serverConfigWithoutOptionalBlocks(): string {
  return fs.readFileSync(path.join(REPO, TEMPORAL_SERVER_CONFIG), 'utf8').replace(/\{\{-?\s*if\b[\s\S]*?\{\{-?\s*end\s*\}\}/g, '');
}

/** The repo file a service runs: a path in its command, resolved through its working_dir and bind mounts. */
function repoFileRunBy(name: string, containerPath: string): string | undefined {
  const workingDir = (service(name) as Service & { working_dir?: string }).working_dir ?? '/';
  return hostPathOf(name, path.posix.resolve(workingDir, containerPath));
}

describe('docker-compose runs Temporal from the files npm run start:cluster uses (deploy/)', () => {
  const version = TEMPORAL_SERVER_VERSION.replace(/^v/, '');

  it('starts the server with deploy/temporal-server.yaml, of the version the cluster stack builds', () => {
    expect(imageOf('temporal'), `service "temporal" must run temporalio/server:${version} (stack/toolchain.ts builds ${TEMPORAL_SERVER_VERSION})`).toBe(`temporalio/server:${version}`);
    const configArg = /--config-file[= ](\S+)/.exec(commandOf('temporal'))?.[1];
    expect(configArg, 'service "temporal" must start temporal-server with --config-file').toBeDefined();
    expect(repoFileRunBy('temporal', configArg as string), `service "temporal": --config-file ${configArg} must be this repo's ${TEMPORAL_SERVER_CONFIG}, mounted`).toBe(path.join(REPO, TEMPORAL_SERVER_CONFIG));
  });

  it.each([
    ['temporal-schema', TEMPORAL_SCHEMA_SCRIPT],
    ['temporal-setup', TEMPORAL_NAMESPACE_SCRIPT],
  ])('%s runs %s, as the cluster stack does', (name, script) => {
    expect(imageOf(name), `service "${name}" must run temporalio/admin-tools:${version}, the tools of the server's version`).toBe(`temporalio/admin-tools:${version}`);
    const run = /^sh (\S+)/.exec(commandOf(name))?.[1];
    expect(run, `service "${name}" must run a script with sh`).toBeDefined();
    expect(repoFileRunBy(name, run as string), `service "${name}" must run this repo's ${script}, mounted`).toBe(path.join(REPO, script));
  });

  it('sets every variable the server config and the schema script need, as the cluster stack does, with the same databases', () => {
    // {{ env "NAME" }} with no | default, outside an {{ if }} block: the server cannot start without it
    const config = serverConfigWithoutOptionalBlocks();
    const required = [...config.matchAll(/env "([A-Z_]+)"(?!\s*\|\s*default)/g)].map((m) => m[1] as string);
    const schema = fs.readFileSync(path.join(REPO, TEMPORAL_SCHEMA_SCRIPT), 'utf8');
    const schemaRequired = [...schema.matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1] as string);
    const cluster = temporalServerEnv({ host: '127.0.0.1', port: 5432, user: 'u', password: 'p' }, DEFAULT_TEMPORAL_SERVER_PORTS);
    for (const name of new Set(required)) {
      expect(envOf('temporal')[name], `service "temporal" must set ${name}, which ${TEMPORAL_SERVER_CONFIG} reads with no default`).toBeTruthy();
      expect(cluster[name], `stack/temporal-server.ts (temporalServerEnv) must set ${name}, which ${TEMPORAL_SERVER_CONFIG} reads with no default`).toBeTruthy();
    }
    for (const name of new Set(schemaRequired)) {
      expect(envOf('temporal-schema')[name], `service "temporal-schema" must set ${name}, which ${TEMPORAL_SCHEMA_SCRIPT} requires`).toBeTruthy();
      expect(cluster[name], `temporalServerEnv must set ${name}, which ${TEMPORAL_SCHEMA_SCRIPT} requires`).toBeTruthy();
    }
    for (const name of ['temporal', 'temporal-schema']) {
      expect(envOf(name).DBNAME ?? 'temporal', `service "${name}": DBNAME`).toBe(TEMPORAL_DATABASES.history);
      expect(envOf(name).VISIBILITY_DBNAME ?? 'temporal_visibility', `service "${name}": VISIBILITY_DBNAME`).toBe(TEMPORAL_DATABASES.visibility);
    }
    expect([cluster.DBNAME, cluster.VISIBILITY_DBNAME]).toEqual([TEMPORAL_DATABASES.history, TEMPORAL_DATABASES.visibility]);
  });
});

describe('timeout budget across the edge and the api (docs/design.md, "Timeout budget")', () => {
  it('the edge proxies to the api service on its port', () => {
    const targets = nginxProxyTargets();
    expect(targets, 'deploy/nginx.conf has no proxy_pass').not.toHaveLength(0);
    for (const t of targets) expectPointsAtService('edge', 'proxy_pass in deploy/nginx.conf', t.host, t.port, 'api');
  });

  it('the edge waits at least EDGE_BUDGET_MS for the api', () => {
    const edgeMs = apiConfigOf('api').budgets.edgeMs;
    const directives = nginxDirectives();
    for (const name of ['proxy_connect_timeout', 'proxy_send_timeout', 'proxy_read_timeout']) {
      const found = directives.filter((d) => d.name === name);
      expect(found, `deploy/nginx.conf must set ${name} (nginx's default is 60 s, not the edge budget)`).not.toHaveLength(0);
      for (const d of found) {
        const ms = nginxTimeMs(d.args[0] ?? '');
        expect(
          ms,
          `deploy/nginx.conf: ${name} ${d.args[0]} is shorter than the edge budget EDGE_BUDGET_MS=${edgeMs} (${edgeMs / 1000} s) of the api; the edge would cut answers the api is still allowed to give`,
        ).toBeGreaterThanOrEqual(edgeMs);
      }
    }
  });

  it('the edge budget exceeds the api budget, so the api answers first', () => {
    const { edgeMs, apiMs } = apiConfigOf('api').budgets;
    expect(edgeMs, `service "api": EDGE_BUDGET_MS (${edgeMs}) must exceed API_BUDGET_MS (${apiMs})`).toBeGreaterThan(apiMs);
  });

  it("config.ts accepts the api's budget and would refuse it inverted", () => {
    const env = envOf('api');
    const { apiMs } = apiConfigOf('api').budgets; // throws with config.ts's reason if refused
    expect(() => loadApiConfig({ ...env, EDGE_BUDGET_MS: String(apiMs) }), 'config.ts must refuse EDGE_BUDGET_MS <= API_BUDGET_MS').toThrow(ConfigError);
  });
});

// ---- deploy/temporal-dynamic-config.yaml ---------------------------------------

describe('the Temporal server runs with the dynamic config the dev server has', () => {
  it('runs the dynamic config file deploy/temporal-server.yaml names, mounted, with eager activities and eager workflow start on', () => {
    const config = parse(serverConfigWithoutOptionalBlocks().replace(/\{\{[^}]*\}\}/g, 'x')) as { dynamicConfigClient?: { filepath?: string } };
    const relative = config.dynamicConfigClient?.filepath;
    expect(relative, `${TEMPORAL_SERVER_CONFIG} must name a dynamic config file (dynamicConfigClient.filepath)`).toBeTruthy();
    const file = repoFileRunBy('temporal', relative as string);
    expect(file, `service "temporal" must mount the file ${relative} names, relative to its working_dir`).toBeDefined();
    const values = parse(fs.readFileSync(file as string, 'utf8')) as Record<string, { value: unknown }[]>;
    for (const [key, value] of Object.entries(DEV_SERVER_DYNAMIC_CONFIG)) {
      expect(values[key]?.[0]?.value, `${file}: ${key} must be ${String(value)}, as on the dev server (stack/temporal-dev-server.ts)`).toBe(value);
    }
  });
});

// ---- deploy/prometheus.yml and deploy/grafana/ -----------------------------------

/** A file a service mounts at `target`, as a path on this machine (relative to the compose file, as Docker resolves it). */
function mountedAt(name: string, target: string): string | undefined {
  for (const v of service(name).volumes ?? []) {
    const [source, to] = typeof v === 'string' ? v.split(':') : [(v as { source?: string }).source, (v as { target?: string }).target];
    if (source && to === target && /^\.{0,2}\//.test(source)) return path.resolve(COMPOSE_DIR, source);
  }
  return undefined;
}

/** Where a container path falls in this repo: the bind mount that holds it (a file, or a file in a mounted folder). */
function hostPathOf(name: string, containerPath: string): string | undefined {
  for (const v of service(name).volumes ?? []) {
    const [source, to] = typeof v === 'string' ? v.split(':') : [(v as { source?: string }).source, (v as { target?: string }).target];
    if (!source || !to || !/^\.{0,2}\//.test(source)) continue;
    if (containerPath === to) return path.resolve(COMPOSE_DIR, source);
    if (containerPath.startsWith(`${to}/`)) return path.join(path.resolve(COMPOSE_DIR, source), containerPath.slice(to.length + 1));
  }
  return undefined;
}

interface PrometheusConfig {
  rule_files?: string[];
  scrape_configs?: {
    job_name: string;
    metrics_path?: string;
    static_configs?: { targets?: string[] }[];
    dns_sd_configs?: { names?: string[]; type?: string; port?: number }[];
  }[];
}

/** The config file prometheus runs with: the one its --config.file names, as mounted from this repo. */
function prometheusConfig(): { containerPath: string; file: string; config: PrometheusConfig } {
  const containerPath = /--config\.file=(\S+)/.exec(commandOf('prometheus'))?.[1] ?? '/etc/prometheus/prometheus.yml';
  const file = hostPathOf('prometheus', containerPath);
  if (!file) throw new Error(`service "prometheus" reads ${containerPath} (--config.file), which it mounts from nowhere in this repo (expected ./deploy/prometheus.yml:${containerPath}:ro)`);
  return { containerPath, file, config: parse(fs.readFileSync(file, 'utf8')) as PrometheusConfig };
}

/** host:port pairs a scrape job reaches: static targets, and DNS names with their port. */
function scrapeTargets(job: NonNullable<PrometheusConfig['scrape_configs']>[number]): { host: string; port: number }[] {
  return [
    ...(job.static_configs ?? []).flatMap((c) => (c.targets ?? []).map(splitHostPort)),
    ...(job.dns_sd_configs ?? []).flatMap((c) => (c.names ?? []).map((host) => ({ host, port: Number(c.port) }))),
  ];
}

describe('Prometheus and Grafana (deploy/prometheus.yml, deploy/grafana/)', () => {
  const metricsPorts: Record<string, () => number> = {
    api: () => apiConfigOf('api').api.metricsPort,
    worker: () => workerConfigOf('worker').workerMetricsPort,
  };

  it.each(Object.keys(metricsPorts))('scrapes every %s on the metrics port its config sets, which the service exposes on the compose network', (name) => {
    const { file, config } = prometheusConfig();
    const job = (config.scrape_configs ?? []).find((j) => j.job_name === name);
    expect(job, `${file} has no scrape job "${name}" (the alert rules and the dashboard select job="${name}")`).toBeDefined();
    const targets = scrapeTargets(job as NonNullable<typeof job>);
    expect(targets, `${file}: job "${name}" has no targets`).not.toHaveLength(0);
    const port = (metricsPorts[name] as () => number)();
    expect(port, `service "${name}": set its metrics port to a fixed one (0 picks a free port prometheus cannot know)`).toBeGreaterThan(0);
    for (const t of targets) {
      expect(t.host, `${file}: job "${name}" scrapes host "${t.host}"; it must scrape the service "${name}"`).toBe(name);
      expect(t.port, `${file}: job "${name}" scrapes port ${t.port}, but service "${name}" serves /metrics on ${port}`).toBe(port);
    }
    expect((job?.dns_sd_configs ?? []).length, `${file}: job "${name}" should find its targets with dns_sd_configs (type A), so every replica of --scale is scraped`).toBeGreaterThan(0);
    expect((service(name).expose ?? []).map(String), `service "${name}" must expose ${port} (expose:, not ports:) for prometheus`).toContain(String(port));
    expect(portsOf(name).map((p) => p.container), `service "${name}" must not publish its metrics port ${port} on the host`).not.toContain(port);
  });

  it('loads the alert rules from deploy/alert-rules.yml, mounted where rule_files points', () => {
    const { containerPath, file, config } = prometheusConfig();
    expect(config.rule_files, `${file} must list the alert rules under rule_files`).toBeDefined();
    for (const rule of config.rule_files ?? []) {
      const inContainer = path.posix.resolve(path.posix.dirname(containerPath), rule);
      const onHost = hostPathOf('prometheus', inContainer);
      expect(onHost, `${file}: rule_files names ${rule} (${inContainer} in the container), which service "prometheus" does not mount`).toBeDefined();
      expect(path.resolve(path.dirname(file), rule), `${file}: rule_files ${rule} must resolve, next to this file as for promtool, to the same file the container gets`).toBe(onHost);
      expect(fs.existsSync(onHost as string), `${onHost} does not exist`).toBe(true);
    }
    expect((config.rule_files ?? []).map((r) => path.resolve(path.dirname(file), r))).toContain(path.join(COMPOSE_DIR, 'deploy', 'alert-rules.yml'));
  });

  it("provisions Grafana's data source at the prometheus service, and the dashboards from deploy/grafana/dashboards", () => {
    const provisioning = envOf('grafana').GF_PATHS_PROVISIONING ?? '/etc/grafana/provisioning';
    const dir = hostPathOf('grafana', provisioning);
    expect(dir, `service "grafana" must mount ./deploy/grafana/provisioning at ${provisioning}`).toBeDefined();
    const yamls = (sub: string) =>
      fs
        .readdirSync(path.join(dir as string, sub))
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => ({ file: path.join(dir as string, sub, f), doc: parse(fs.readFileSync(path.join(dir as string, sub, f), 'utf8')) as Record<string, unknown> }));

    const sources = yamls('datasources').flatMap(({ file, doc }) => ((doc.datasources ?? []) as { uid?: string; type?: string; url?: string }[]).map((d) => ({ file, ...d })));
    const prometheus = sources.filter((d) => d.type === 'prometheus');
    expect(prometheus, `${dir}/datasources/ must provision a prometheus data source`).not.toHaveLength(0);
    for (const d of prometheus) {
      const url = new URL(d.url ?? '');
      expectPointsAtService('grafana', `the data source url in ${d.file}`, url.hostname, Number(url.port || 80), 'prometheus');
    }

    const providers = yamls('dashboards').flatMap(({ file, doc }) => ((doc.providers ?? []) as { options?: { path?: string } }[]).map((p) => ({ file, path: p.options?.path ?? '' })));
    expect(providers, `${dir}/dashboards/ must provision a dashboard provider`).not.toHaveLength(0);
    const uids = new Set(sources.map((d) => d.uid));
    for (const p of providers) {
      const folder = hostPathOf('grafana', p.path);
      expect(folder, `${p.file}: dashboards are read from ${p.path}, which service "grafana" does not mount`).toBeDefined();
      const dashboards = fs.readdirSync(folder as string).filter((f) => f.endsWith('.json'));
      expect(dashboards, `${folder} holds no dashboard JSON`).not.toHaveLength(0);
      for (const f of dashboards) {
        const used = new Set([...fs.readFileSync(path.join(folder as string, f), 'utf8').matchAll(/"datasource":\s*\{[^}]*"uid":\s*"([^"]+)"/g)].map((m) => m[1]));
        for (const uid of used) expect(uids.has(uid), `${f} uses data source uid "${uid}", which no file in ${dir}/datasources/ provisions`).toBe(true);
      }
    }
    const home = envOf('grafana').GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    if (home) expect(fs.existsSync(hostPathOf('grafana', home) ?? ''), `service "grafana": GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ${home} is no mounted file`).toBe(true);
  });

  it('lets anonymous visitors only view Grafana, and takes the admin password from the environment', () => {
    const env = envOf('grafana');
    if (env.GF_AUTH_ANONYMOUS_ENABLED === 'true') {
      expect(env.GF_AUTH_ANONYMOUS_ORG_ROLE, 'service "grafana": anonymous visitors must have the Viewer role (GF_AUTH_ANONYMOUS_ORG_ROLE: Viewer); the default would let them edit').toBe('Viewer');
    }
    expect(rawEnvOf('grafana').GF_SECURITY_ADMIN_PASSWORD, 'service "grafana": GF_SECURITY_ADMIN_PASSWORD must be ${GRAFANA_ADMIN_PASSWORD:?...}; unset, the admin password is "admin"').toMatch(
      /^\$\{[A-Z][A-Z0-9_]*:\?[^}$]+\}$/,
    );
  });

  it('mounts the Prometheus and Grafana files read-only', () => {
    for (const name of ['prometheus', 'grafana']) {
      for (const v of (service(name).volumes ?? []).map(String)) {
        if (!/^\.{0,2}\//.test(v)) continue; // named volumes hold their data
        expect(v, `service "${name}": mount ${v} read-only (:ro): the files are in git`).toMatch(/:ro$/);
      }
    }
    expect(mountedAt('prometheus', '/etc/prometheus/alert-rules.yml') ?? prometheusConfig().file).toBeDefined();
  });
});

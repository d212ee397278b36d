// TLS to a secured Temporal (README, "Connecting to a secured Temporal"):
// Temporal's server proper (the cluster stack's build) serving TLS on its
// frontend with a certificate from a CA made here, and the connections our
// processes make, from the variables they read (TEMPORAL_TLS_CA_FILE,
// TEMPORAL_TLS_CERT_FILE, TEMPORAL_TLS_KEY_FILE, TEMPORAL_TLS_SERVER_NAME):
// the client the api and the scripts use, and the worker's NativeConnection.
// A plain connection and one trusting another CA are refused.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection, type Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadStackConfig } from '../../config';
import { connectionOptionsOf } from '../../temporal/connection-options';
import { connectTemporalClient } from '../../temporal/client';
import { setUpTemporalSchema, startTemporalServer, temporalServerEnv, type RunningTemporalServer } from '../../stack/temporal-server';
import { freeClusterPorts } from '../../stack/cluster-stack';
import { ensureTemporalServer } from '../../stack/toolchain';

const NAMESPACE = 'tls-test';

let dir: string;
let server: RunningTemporalServer | undefined;
let address: string;
let clientEnv: Record<string, string>;
const clients: Client[] = [];

/** openssl, quietly; its own message if it fails. */
function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA. */
function makeCa(name: string): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`);
}

/** Always with extensions, so X.509 v3: the worker's Rust core refuses a v1 certificate (UnsupportedCertVersion), the Node client does not. */
function makeCert(ca: string, name: string, extensions: string): void {
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
  fs.writeFileSync(path.join(dir, `${name}.ext`), `${extensions}\n`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-tls-'));
  makeCa('ca');
  makeCert('ca', 'server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  makeCert('ca', 'client', 'extendedKeyUsage=clientAuth');
  makeCa('other-ca');

  const tools = await ensureTemporalServer(loadStackConfig().tools, () => undefined);
  const owner = new URL(inject('databaseOwnerUrl'));
  const db = { host: owner.hostname, port: Number(owner.port), user: decodeURIComponent(owner.username), password: decodeURIComponent(owner.password) };
  const { temporal: ports } = await freeClusterPorts();
  const env = {
    ...temporalServerEnv(db, ports),
    // databases of its own in the tests' Postgres
    DBNAME: 'temporal_tls',
    VISIBILITY_DBNAME: 'temporal_tls_visibility',
    TEMPORAL_TLS_SERVER_CERT_FILE: path.join(dir, 'server.pem'),
    TEMPORAL_TLS_SERVER_KEY_FILE: path.join(dir, 'server.key'),
    TEMPORAL_TLS_CLIENT_CA_FILE: path.join(dir, 'ca.pem'),
    TEMPORAL_TLS_SERVER_CA_FILE: path.join(dir, 'ca.pem'),
  };
  await setUpTemporalSchema(tools, env, () => undefined);
  address = `127.0.0.1:${ports.frontend}`;
  clientEnv = {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: NAMESPACE,
    TEMPORAL_TLS_CA_FILE: path.join(dir, 'ca.pem'),
    TEMPORAL_TLS_CERT_FILE: path.join(dir, 'client.pem'),
    TEMPORAL_TLS_KEY_FILE: path.join(dir, 'client.key'),
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
  };
  const { tls } = connectionOptionsOf(loadStackConfig(clientEnv).temporal);
  server = await startTemporalServer(tools.server, env, () => undefined, tls === false ? undefined : tls);
}, 300_000);

afterAll(async () => {
  for (const c of clients) await c.connection.close().catch(() => undefined);
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('a Temporal server that serves TLS', () => {
  it("is reached by the client our processes make from TEMPORAL_TLS_* (a namespace registered and described over it)", async () => {
    const client = await connectTemporalClient(loadStackConfig(clientEnv).temporal, { connectTimeoutMs: 10_000 });
    clients.push(client);
    await client.workflowService.registerNamespace({ namespace: NAMESPACE, workflowExecutionRetentionPeriod: msToTs('1 day') });
    const described = await client.workflowService.describeNamespace({ namespace: NAMESPACE });
    expect(described.namespaceInfo?.name).toBe(NAMESPACE);
    expect((await client.workflowService.getSystemInfo({})).serverVersion).toMatch(/^1\.30\./);
  });

  it("is reached by a worker's NativeConnection from the same options", async () => {
    const connection = await NativeConnection.connect(connectionOptionsOf(loadStackConfig(clientEnv).temporal));
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toMatch(/^1\.30\./);
    } finally {
      await connection.close();
    }
  });

  it('refuses a plain connection', async () => {
    const plain = { ...clientEnv, TEMPORAL_TLS_CA_FILE: '', TEMPORAL_TLS_CERT_FILE: '', TEMPORAL_TLS_KEY_FILE: '', TEMPORAL_TLS_SERVER_NAME: '' };
    for (const k of Object.keys(plain)) if (plain[k as keyof typeof plain] === '') delete plain[k as keyof typeof plain];
    expect(connectionOptionsOf(loadStackConfig(plain).temporal).tls).toBe(false);
    await expect(probe(connectionOptionsOf(loadStackConfig(plain).temporal))).rejects.toThrow();
  });

  it('refuses a client that trusts another CA (the server certificate does not verify)', async () => {
    const other = { ...clientEnv, TEMPORAL_TLS_CA_FILE: path.join(dir, 'other-ca.pem') };
    await expect(probe(connectionOptionsOf(loadStackConfig(other).temporal))).rejects.toThrow();
  });
});

/** One call over a fresh connection, bounded in time. */
async function probe(options: ReturnType<typeof connectionOptionsOf>): Promise<void> {
  const connection = await Connection.connect({ ...options, connectTimeout: 3_000 });
  try {
    await connection.withDeadline(Date.now() + 3_000, () => connection.workflowService.getSystemInfo({}));
  } finally {
    await connection.close();
  }
}

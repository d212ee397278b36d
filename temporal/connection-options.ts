// How every connection to Temporal is made, the api's and the workers'
// (Connection and NativeConnection take the same options): the address, TLS
// (a CA, a client certificate and key, a server name) and an API key, from
// config. Without them, plain gRPC, as to the local dev server.
import fs from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { TemporalConfig } from '../config';
import { ConfigError } from '../errors';

export interface TemporalConnectionOptions {
  address: string;
  /** false: plain gRPC (said outright: the SDK turns TLS on by itself when it sees an API key) */
  tls: TLSConfig | false;
  /** sent as `authorization: Bearer <key>` */
  apiKey?: string;
}

export function connectionOptionsOf(temporal: Pick<TemporalConfig, 'address' | 'access'>): TemporalConnectionOptions {
  const { tls, apiKey } = temporal.access;
  if (!tls) return { address: temporal.address, tls: false, apiKey };
  return {
    address: temporal.address,
    tls: {
      ...(tls.serverName !== undefined ? { serverNameOverride: tls.serverName } : {}),
      ...(tls.caFile !== undefined ? { serverRootCACertificate: readPem('TEMPORAL_TLS_CA_FILE', tls.caFile) } : {}),
      ...(tls.certFile !== undefined && tls.keyFile !== undefined
        ? { clientCertPair: { crt: readPem('TEMPORAL_TLS_CERT_FILE', tls.certFile), key: readPem('TEMPORAL_TLS_KEY_FILE', tls.keyFile) } }
        : {}),
    },
    apiKey,
  };
}

function readPem(name: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

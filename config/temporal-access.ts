import { z } from 'zod';
import { ConfigError } from '../errors';
import { flag, isOn } from './read';

// ---- how a process reaches Temporal: TLS and an API key (temporal/connection-options.ts) ----
// Part of the Temporal group every process reads (config/common.ts), so the
// api, the worker, the scripts, the drills and the test stack connect alike.
// Unset, the connection is plain gRPC, as to the local dev server. A CA, a
// client certificate and key (mTLS) or an API key (Temporal Cloud) turn TLS on;
// TEMPORAL_TLS=1 turns it on with the system's CAs only, =0 keeps it off (an
// API key to a plaintext proxy on loopback). Files are read when connecting.
export const temporalAccessVars = {
  TEMPORAL_TLS: flag.optional(),
  TEMPORAL_TLS_CA_FILE: z.string().min(1).optional(),
  TEMPORAL_TLS_CERT_FILE: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY_FILE: z.string().min(1).optional(),
  // the name the server's certificate is checked against, when it is not the address's host
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  // sent by the SDK as `authorization: Bearer <key>` on every call
  TEMPORAL_API_KEY: z.string().min(1).optional(),
};

export interface TemporalTlsConfig {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
}

export interface TemporalAccessConfig {
  /** undefined: plain gRPC */
  tls?: TemporalTlsConfig;
  apiKey?: string;
}

export function temporalAccessOf(e: z.infer<z.ZodObject<typeof temporalAccessVars>>): TemporalAccessConfig {
  // mTLS needs both halves: one alone is a mistake, not a choice
  if ((e.TEMPORAL_TLS_CERT_FILE === undefined) !== (e.TEMPORAL_TLS_KEY_FILE === undefined)) {
    throw new ConfigError('invalid configuration: TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE go together (the client certificate and its key)');
  }
  const files: TemporalTlsConfig = {
    caFile: e.TEMPORAL_TLS_CA_FILE,
    certFile: e.TEMPORAL_TLS_CERT_FILE,
    keyFile: e.TEMPORAL_TLS_KEY_FILE,
    serverName: e.TEMPORAL_TLS_SERVER_NAME,
  };
  const anyTlsSetting = Object.values(files).some((v) => v !== undefined);
  const on = e.TEMPORAL_TLS === undefined ? anyTlsSetting || e.TEMPORAL_API_KEY !== undefined : isOn(e.TEMPORAL_TLS);
  if (!on && anyTlsSetting) {
    throw new ConfigError('invalid configuration: TEMPORAL_TLS=0 with TEMPORAL_TLS_* files or server name set; unset one or the other');
  }
  return { tls: on ? files : undefined, apiKey: e.TEMPORAL_API_KEY };
}

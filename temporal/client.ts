// A Temporal client as every process that is not a Worker makes one (the
// scripts, the drills, the bench, the worker's Schedule and dispatcher): its
// connection as config says (TLS, API key) and the data converter that reads
// and writes encrypted payloads. close() closes its connection.
import { Client, Connection, type ClientInterceptors } from '@temporalio/client';
import type { TemporalConfig } from '../config';
import { connectionOptionsOf } from './connection-options';
import { dataConverterOf } from './data-converter';

export async function connectTemporalClient(
  temporal: Pick<TemporalConfig, 'address' | 'namespace' | 'access' | 'dataProtection'>,
  options: { interceptors?: ClientInterceptors; connectTimeoutMs?: number } = {},
): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptionsOf(temporal), connectTimeout: options.connectTimeoutMs });
  return new Client({ connection, namespace: temporal.namespace, dataConverter: dataConverterOf(temporal.dataProtection), interceptors: options.interceptors });
}

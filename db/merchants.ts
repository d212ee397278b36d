// SQL for merchants: the accounts every payment, endpoint and key belongs to.
import crypto from 'node:crypto';
import type { Queryable } from './payments';

export interface MerchantRow {
  id: string;
  name: string;
  created_at: Date;
}

export function newMerchantId(): string {
  return `mer_${crypto.randomBytes(8).toString('hex')}`;
}

export async function insertMerchant(db: Queryable, name: string, id = newMerchantId()): Promise<MerchantRow> {
  const res = await db.query<MerchantRow>('INSERT INTO merchants (id, name) VALUES ($1, $2) RETURNING *', [id, name]);
  return res.rows[0] as MerchantRow;
}

export async function findMerchant(db: Queryable, id: string): Promise<MerchantRow | undefined> {
  return (await db.query<MerchantRow>('SELECT * FROM merchants WHERE id = $1', [id])).rows[0];
}

export async function listMerchants(db: Queryable): Promise<MerchantRow[]> {
  return (await db.query<MerchantRow>('SELECT * FROM merchants ORDER BY created_at, id')).rows;
}

// What the CustomerId search attribute holds: a keyed hash of the customer
// id, not the id. Search attributes are stored in clear (history and
// visibility), out of the payload codec's reach. The hash still finds a
// customer's payments: compute it with the same key (scripts/find-customer.ts).
import crypto from 'node:crypto';

/** Marks a hashed value; workflows started before it hold the customer id itself. */
export const CUSTOMER_SEARCH_PREFIX = 'h1_';

/** HMAC-SHA256 of the id under the key, 128 bits of it in hex, prefixed. */
export function customerSearchValue(hashKey: string, customerId: string): string {
  return CUSTOMER_SEARCH_PREFIX + crypto.createHmac('sha256', hashKey).update(customerId, 'utf8').digest('hex').slice(0, 32);
}

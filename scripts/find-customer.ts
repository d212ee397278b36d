// `npx tsx scripts/find-customer.ts <customer_id> [--merchant <merchant_id>]`:
// the Temporal visibility query that finds a customer's checkout workflows.
// CustomerId holds a keyed hash of the id (temporal/customer-search-value.ts),
// computed here with the api's key (CUSTOMER_ID_HASH_KEY, or in development
// the one in DATA_DIR); workflows started before the hash hold the id itself,
// so the query asks for both. Prints the query, then the command to run it.
import { parseArgs } from 'node:util';
import { loadStackConfig } from '../config';
import { customerSearchValue } from '../temporal/customer-search-value';
import { customerIdHashKeyOf } from '../temporal/payload-keys';

function main(): void {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { merchant: { type: 'string' } } });
  const [customerId] = positionals;
  if (!customerId || positionals.length > 1) {
    console.error('usage: npx tsx scripts/find-customer.ts <customer_id> [--merchant <merchant_id>]');
    process.exit(2);
  }
  const config = loadStackConfig();
  const hashed = customerSearchValue(customerIdHashKeyOf(config.temporal.dataProtection), customerId);
  const customer = `CustomerId IN (${JSON.stringify(hashed)}, ${JSON.stringify(customerId)})`;
  const query = values.merchant ? `MerchantId = ${JSON.stringify(values.merchant)} AND ${customer}` : customer;
  console.log(query);
  console.error(`run it: temporal workflow list --query '${query}'   (or paste it into the Web UI's Workflows search)`);
}

main();

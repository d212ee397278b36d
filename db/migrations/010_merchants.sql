-- Merchants and their API keys (issue 14). Every row that belongs to someone
-- carries its merchant; idempotency keys are unique per merchant.

CREATE TABLE merchants (
  id         text PRIMARY KEY,
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A key is sk_<env>_<random>; only its HMAC-SHA-256 under the server's pepper
-- is stored. prefix is the key's first characters: public, unique, for lookup
-- and display. admin keys belong to no merchant and reach operator routes only.
CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  merchant_id  text REFERENCES merchants (id),
  kind         text NOT NULL CHECK (kind IN ('secret', 'restricted', 'admin')),
  prefix       text NOT NULL UNIQUE,
  hash         bytea NOT NULL,
  label        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  expires_at   timestamptz,
  revoked_at   timestamptz,
  CHECK ((kind = 'admin') = (merchant_id IS NULL))
);
CREATE INDEX api_keys_merchant_idx ON api_keys (merchant_id, created_at);

-- Rows written before merchants existed belong to this one, so nothing is lost
-- and no other merchant ever sees them.
INSERT INTO merchants (id, name) VALUES ('mer_legacy', 'Payments made before merchants existed');

ALTER TABLE payments ADD COLUMN merchant_id text REFERENCES merchants (id);
-- the key that created the payment: the per-key rate of new checkouts counts these
ALTER TABLE payments ADD COLUMN api_key_id text REFERENCES api_keys (id);
UPDATE payments SET merchant_id = 'mer_legacy' WHERE merchant_id IS NULL;
ALTER TABLE payments ALTER COLUMN merchant_id SET NOT NULL;
-- indexes on payments: 011 (built concurrently); the key's uniqueness moves to
-- (merchant_id, idempotency_key) in 012, once that index exists

ALTER TABLE webhook_endpoints ADD COLUMN merchant_id text REFERENCES merchants (id);
UPDATE webhook_endpoints SET merchant_id = 'mer_legacy' WHERE merchant_id IS NULL;
ALTER TABLE webhook_endpoints ALTER COLUMN merchant_id SET NOT NULL;

ALTER TABLE webhook_events ADD COLUMN merchant_id text REFERENCES merchants (id);
UPDATE webhook_events e SET merchant_id = coalesce((SELECT p.merchant_id FROM payments p WHERE p.payment_id = e.payment_id), 'mer_legacy')
 WHERE merchant_id IS NULL;
ALTER TABLE webhook_events ALTER COLUMN merchant_id SET NOT NULL;

ALTER TABLE webhook_deliveries ADD COLUMN merchant_id text REFERENCES merchants (id);
UPDATE webhook_deliveries d SET merchant_id = (SELECT e.merchant_id FROM webhook_events e WHERE e.id = d.event_id)
 WHERE merchant_id IS NULL;
ALTER TABLE webhook_deliveries ALTER COLUMN merchant_id SET NOT NULL;

-- a finding that names a payment names its merchant; the provider's charge
-- with no payment behind it names none
ALTER TABLE reconciliation_mismatches ADD COLUMN merchant_id text REFERENCES merchants (id);
UPDATE reconciliation_mismatches m SET merchant_id = (SELECT p.merchant_id FROM payments p WHERE p.workflow_id = m.workflow_id)
 WHERE merchant_id IS NULL AND workflow_id IS NOT NULL;

-- migrate: no-transaction
-- Lookups by merchant on tables that already hold rows: built without blocking writes.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS payments_merchant_idempotency_key_idx ON payments (merchant_id, idempotency_key);
CREATE INDEX CONCURRENTLY IF NOT EXISTS payments_merchant_customer_created_idx ON payments (merchant_id, customer_id, created_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS payments_api_key_created_idx ON payments (api_key_id, created_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_endpoints_merchant_idx ON webhook_endpoints (merchant_id, created_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_deliveries_merchant_idx ON webhook_deliveries (merchant_id, created_at);

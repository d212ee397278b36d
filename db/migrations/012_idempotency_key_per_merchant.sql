-- An Idempotency-Key is unique per merchant, not across all of them: one
-- merchant's order id can no longer block another's checkout. The unique index
-- on (merchant_id, idempotency_key) was built by 011.
ALTER TABLE payments DROP CONSTRAINT payments_idempotency_key_key;

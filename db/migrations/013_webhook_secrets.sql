-- Every signing secret of an endpoint, each valid until its own expiry (issue
-- 14): a second rotation no longer cuts off the secret the first one retired.
-- expires_at NULL is the current secret; a rotation gives the current one an
-- expiry and adds a new current one. Deliveries are signed with every secret
-- not yet expired.
CREATE TABLE webhook_endpoint_secrets (
  id          bigserial PRIMARY KEY,
  endpoint_id text NOT NULL REFERENCES webhook_endpoints (id),
  -- whsec_<base64>: needed in clear to compute HMACs, shown once
  secret      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz
);
CREATE UNIQUE INDEX webhook_endpoint_secrets_current_idx ON webhook_endpoint_secrets (endpoint_id) WHERE expires_at IS NULL;
CREATE INDEX webhook_endpoint_secrets_endpoint_idx ON webhook_endpoint_secrets (endpoint_id, created_at);

-- The secrets as 004's columns held them. When the current one was made is
-- not recorded there: the endpoint's creation stands in for it.
INSERT INTO webhook_endpoint_secrets (endpoint_id, secret, created_at, expires_at)
SELECT id, secret, created_at, NULL FROM webhook_endpoints;
INSERT INTO webhook_endpoint_secrets (endpoint_id, secret, created_at, expires_at)
SELECT id, previous_secret, created_at, previous_secret_expires_at
  FROM webhook_endpoints
 WHERE previous_secret IS NOT NULL AND previous_secret_expires_at > now();

-- webhook_endpoints.secret, previous_secret and previous_secret_expires_at
-- stay, still written as before (the current secret and the one the latest
-- rotation retired), so a worker of the previous release still signs right
-- during a rolling deploy. Nothing reads them any more; a later migration
-- drops them once no such worker can be running.

-- A rotation made under an Idempotency-Key: the same key again answers with
-- the same secret and rotates nothing. Keys are the merchant's own namespace.
CREATE TABLE webhook_secret_rotations (
  merchant_id     text NOT NULL REFERENCES merchants (id),
  idempotency_key text NOT NULL,
  endpoint_id     text NOT NULL REFERENCES webhook_endpoints (id),
  secret_id       bigint NOT NULL REFERENCES webhook_endpoint_secrets (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (merchant_id, idempotency_key)
);

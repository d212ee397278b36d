-- Webhooks out (issue 8): endpoints merchants register, the outbox of payment
-- events (written in the same transaction as the payment's final status), and
-- one delivery per (event, endpoint) with its attempts.

CREATE TABLE webhook_endpoints (
  id                         text PRIMARY KEY,
  url                        text NOT NULL,
  events                     text[] NOT NULL CHECK (cardinality(events) > 0),
  -- whsec_<base64>: needed in clear to compute HMACs, never returned after creation
  secret                     text NOT NULL,
  -- after a rotation the old secret still signs until it expires, so a merchant
  -- can switch without dropping a delivery
  previous_secret            text,
  previous_secret_expires_at timestamptz,
  status                     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'deleted')),
  disabled_reason            text,
  created_at                 timestamptz NOT NULL DEFAULT now(),
  updated_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_active_idx ON webhook_endpoints (created_at) WHERE status = 'active';

-- The outbox: one row per payment event, never lost once the payment's status is.
CREATE TABLE webhook_events (
  id                  text PRIMARY KEY,
  type                text NOT NULL CHECK (type IN ('payment.completed', 'payment.failed', 'payment.refunded')),
  payment_id          text NOT NULL,
  -- the exact bytes sent (and signed) on every attempt
  body                text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  -- a dispatcher holds the row until then; after, another may take it (crashed dispatcher)
  dispatch_claimed_until timestamptz,
  -- set once a delivery exists and its workflow was started for every subscribed endpoint
  dispatched_at       timestamptz,
  UNIQUE (payment_id, type)
);
CREATE INDEX webhook_events_undispatched_idx ON webhook_events (created_at) WHERE dispatched_at IS NULL;

CREATE TABLE webhook_deliveries (
  id               text PRIMARY KEY,
  event_id         text NOT NULL REFERENCES webhook_events (id),
  endpoint_id      text NOT NULL REFERENCES webhook_endpoints (id),
  -- pending: being tried or waiting for the next try; dead: every attempt failed;
  -- cancelled: the endpoint was disabled or deleted (or answered 410) first
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead', 'cancelled')),
  attempts         integer NOT NULL DEFAULT 0,
  last_status_code integer,
  last_error       text,
  next_attempt_at  timestamptz,
  delivered_at     timestamptz,
  -- how many times it was sent again through the api; names the redelivery workflow
  redeliveries     integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_status_idx ON webhook_deliveries (status, created_at);

-- Every HTTP attempt, for support ("what did you send us, and when?").
CREATE TABLE webhook_delivery_attempts (
  id           bigserial PRIMARY KEY,
  delivery_id  text NOT NULL REFERENCES webhook_deliveries (id),
  attempt      integer NOT NULL,
  status_code  integer,
  error        text,
  duration_ms  integer NOT NULL,
  attempted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_delivery_attempts_delivery_idx ON webhook_delivery_attempts (delivery_id);

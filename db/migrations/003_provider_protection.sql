-- Fleet-wide protection of the payment provider (DESIGN §4): every worker
-- records its calls here, so the retry budget and the circuit breaker see the
-- whole fleet, not one process.

-- One row per provider call: first attempt or retry, and how it went.
CREATE TABLE provider_calls (
  id        bigserial PRIMARY KEY,
  provider  text NOT NULL,
  -- the provider idempotency key of the call: its first call is 'first', later ones 'retry'
  call_key  text NOT NULL,
  at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  kind      text NOT NULL CHECK (kind IN ('first', 'retry')),
  probe     boolean NOT NULL DEFAULT false,
  -- pending until the call ends; a decline is a success (the provider is healthy)
  outcome   text NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'success', 'failure'))
);
CREATE INDEX provider_calls_provider_at_idx ON provider_calls (provider, at);
CREATE INDEX provider_calls_provider_key_idx ON provider_calls (provider, call_key);

-- The breaker of each provider. Its row lock serialises admissions fleet-wide.
CREATE TABLE provider_breakers (
  provider    text PRIMARY KEY,
  state       text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half_open')),
  opened_at   timestamptz,
  -- half-open: the one probe holds the slot until then (a lost probe frees it)
  probe_until timestamptz,
  changed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

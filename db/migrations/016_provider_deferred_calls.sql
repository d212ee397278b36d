-- Calls the breaker refused before they ever reached the provider. When the
-- breaker closes, such a call is backlog, not new demand: it is admitted as a
-- retry, under the retry budget, so the backlog of an outage does not all hit
-- a provider that has only just come back (docs/resilience.md).
CREATE TABLE provider_deferred_calls (
  provider  text NOT NULL,
  call_key  text NOT NULL,
  at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (provider, call_key)
);
CREATE INDEX provider_deferred_calls_at_idx ON provider_deferred_calls (provider, at);

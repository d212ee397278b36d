-- Scheduled reconciliation: the provider's charges and refunds against the
-- ledger's charge postings, one run per Schedule tick. Money is integer cents.

-- One row per tick. run_id is the tick's workflow ID (the Schedule appends the
-- scheduled time), so a retried activity finds its run instead of adding one.
CREATE TABLE reconciliation_runs (
  run_id           text PRIMARY KEY,
  schedule_id      text NOT NULL,
  scheduled_at     timestamptz,
  window_since     timestamptz NOT NULL,
  window_until     timestamptz NOT NULL CHECK (window_until > window_since),
  started_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  charges_checked  integer CHECK (charges_checked >= 0),
  postings_checked integer CHECK (postings_checked >= 0),
  mismatches_found integer CHECK (mismatches_found >= 0)
);
-- the next window starts where the last finished one ended (less the overlap)
CREATE INDEX reconciliation_runs_watermark_idx ON reconciliation_runs (schedule_id, window_until DESC) WHERE finished_at IS NOT NULL;
CREATE INDEX reconciliation_runs_started_idx ON reconciliation_runs (started_at DESC);

-- One row per finding. Windows overlap on purpose (late listings, clock skew,
-- the provider's one-second timestamps), so the same finding comes up in
-- consecutive runs: UNIQUE (kind, provider_charge_id) keeps the first report
-- and makes every later one a no-op, whichever run or retried attempt finds it.
CREATE TABLE reconciliation_mismatches (
  id                    bigserial PRIMARY KEY,
  run_id                text NOT NULL REFERENCES reconciliation_runs (run_id),
  kind                  text NOT NULL
                        CHECK (kind IN ('charge_without_posting', 'posting_without_charge', 'amount_differs')),
  -- the charge the finding is about: the provider's, or the one the ledger names
  provider_charge_id    text NOT NULL,
  -- the checkout workflow, when the charge's key or the posting names one
  workflow_id           text,
  -- the provider idempotency key the charge was (or would have been) made under
  idempotency_key       text,
  -- net at the provider (charged less refunded); null when it has no such charge
  provider_amount_cents bigint CHECK (provider_amount_cents >= 0),
  -- the ledger's charge posting; null when there is none
  ledger_amount_cents   bigint CHECK (ledger_amount_cents > 0),
  currency              char(3) NOT NULL,
  found_at              timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, provider_charge_id)
);
CREATE INDEX reconciliation_mismatches_run_idx ON reconciliation_mismatches (run_id);

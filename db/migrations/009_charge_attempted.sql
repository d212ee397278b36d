-- When a payment's workflow first went to charge it: set by the charge
-- activity before any provider call (db/payments.ts, markChargeAttempt). A
-- pending row so marked may have been charged, so the orphan sweeper never
-- deletes it (db/orphans.ts), whatever Temporal says about its workflow: a row
-- swept after Temporal's retention ended would leave a charged customer with
-- no payment and no ledger entry. Nothing is ever sent to the provider for an
-- unmarked row, so an unmarked orphan is still safe to delete.
ALTER TABLE payments ADD COLUMN charge_attempted_at timestamptz;

-- Rows pending when this runs were written by code that did not mark its
-- charges: any of them may have been charged. Marked conservatively (a row
-- whose workflow truly never started is then left to a person, not swept).
UPDATE payments SET charge_attempted_at = coalesce(start_attempted_at, created_at) WHERE status = 'pending';

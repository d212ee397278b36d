-- When the api last tried to start this payment's workflow. A pending row whose
-- start failed (the api answered 503) has no workflow; the orphan sweeper
-- deletes it only if no start was attempted recently, so it never races a
-- client's retry that is starting the workflow right now.
ALTER TABLE payments ADD COLUMN start_attempted_at timestamptz;
CREATE INDEX payments_pending_created_idx ON payments (created_at) WHERE status = 'pending';

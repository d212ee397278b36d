-- Payments, a double-entry ledger and notifications. Money is integer cents.

CREATE TABLE payments (
  payment_id         text PRIMARY KEY,
  idempotency_key    text NOT NULL UNIQUE,
  workflow_id        text NOT NULL UNIQUE,
  -- hash of the canonical request body: same key with another body is refused
  fingerprint        text NOT NULL,
  customer_id        text NOT NULL,
  amount_cents       bigint NOT NULL CHECK (amount_cents > 0),
  currency           char(3) NOT NULL,
  payment_method_id  text NOT NULL,
  status             text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'completed', 'failed', 'refunded')),
  provider_charge_id text,
  failure_code       text,
  -- the answer given for this key, replayed byte-for-byte
  response_status    integer,
  response           json,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_customer_created_idx ON payments (customer_id, created_at);

CREATE TABLE ledger_accounts (
  code text PRIMARY KEY,
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('asset', 'liability', 'equity', 'revenue', 'expense'))
);
INSERT INTO ledger_accounts (code, name, kind) VALUES
  ('provider_clearing', 'Funds held at the payment provider', 'asset'),
  ('merchant_payable', 'Owed to the merchant for completed payments', 'liability');

-- One row per posting; (workflow_id, step) makes a re-executed activity a no-op.
CREATE TABLE ledger_transactions (
  id          bigserial PRIMARY KEY,
  workflow_id text NOT NULL,
  step        text NOT NULL,
  payment_id  text NOT NULL REFERENCES payments (payment_id),
  description text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workflow_id, step)
);

CREATE TABLE ledger_entries (
  id             bigserial PRIMARY KEY,
  transaction_id bigint NOT NULL REFERENCES ledger_transactions (id),
  account_code   text NOT NULL REFERENCES ledger_accounts (code),
  direction      text NOT NULL CHECK (direction IN ('debit', 'credit')),
  amount_cents   bigint NOT NULL CHECK (amount_cents > 0),
  currency       char(3) NOT NULL
);
CREATE INDEX ledger_entries_transaction_idx ON ledger_entries (transaction_id);

-- Debits equal credits in every transaction and currency, checked by the
-- database at commit, whatever code wrote the rows.
CREATE FUNCTION ledger_assert_balanced(tx bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  entry_count integer;
  unbalanced text;
BEGIN
  SELECT count(*) INTO entry_count FROM ledger_entries WHERE transaction_id = tx;
  IF entry_count < 2 THEN
    RAISE EXCEPTION 'ledger transaction % has % entries; a posting needs at least two', tx, entry_count;
  END IF;
  SELECT currency INTO unbalanced
    FROM ledger_entries WHERE transaction_id = tx
    GROUP BY currency
    HAVING sum(CASE direction WHEN 'debit' THEN amount_cents ELSE -amount_cents END) <> 0
    LIMIT 1;
  IF unbalanced IS NOT NULL THEN
    RAISE EXCEPTION 'ledger transaction % does not balance in %', tx, unbalanced;
  END IF;
END;
$$;

CREATE FUNCTION ledger_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM ledger_assert_balanced(NEW.id);
  RETURN NULL;
END;
$$;

CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM ledger_assert_balanced(NEW.transaction_id);
  RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER ledger_transactions_balanced
  AFTER INSERT ON ledger_transactions
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();
CREATE CONSTRAINT TRIGGER ledger_entries_balanced
  AFTER INSERT ON ledger_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();

-- The ledger is append-only: corrections are new postings.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger rows are append-only (% on %)', TG_OP, TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- Per account and currency; the sum of balance over all accounts is zero.
CREATE VIEW ledger_trial_balance AS
  SELECT account_code,
         currency,
         sum(CASE direction WHEN 'debit' THEN amount_cents ELSE 0 END)::bigint AS debits_cents,
         sum(CASE direction WHEN 'credit' THEN amount_cents ELSE 0 END)::bigint AS credits_cents,
         sum(CASE direction WHEN 'debit' THEN amount_cents ELSE -amount_cents END)::bigint AS balance_cents
    FROM ledger_entries
   GROUP BY account_code, currency;

-- Best-effort customer notifications, at most one per payment and kind.
CREATE TABLE notifications (
  payment_id text NOT NULL REFERENCES payments (payment_id),
  kind       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (payment_id, kind)
);

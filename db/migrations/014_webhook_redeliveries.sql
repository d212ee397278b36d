-- Every redelivery asked for through the api (issue 14): the per-merchant
-- rate counts these, and (delivery_id, redelivery) is unique, so one
-- redelivery number is taken once even by concurrent requests.
CREATE TABLE webhook_redeliveries (
  delivery_id  text NOT NULL REFERENCES webhook_deliveries (id),
  redelivery   integer NOT NULL,
  merchant_id  text NOT NULL REFERENCES merchants (id),
  requested_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (delivery_id, redelivery)
);
CREATE INDEX webhook_redeliveries_merchant_idx ON webhook_redeliveries (merchant_id, requested_at);

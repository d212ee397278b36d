-- The trace of the checkout step that recorded the event (its W3C traceparent
-- and baggage), so the dispatcher starts the event's deliveries in that trace:
-- one trace from the HTTP request to the webhooks it causes. NULL when that
-- step was not traced (tracing off, or a row from before this column).
ALTER TABLE webhook_events ADD COLUMN trace_context jsonb;

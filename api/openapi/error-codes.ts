// Every `error.code` the api answers with, and what it means: the error
// middleware (api/error-answer.ts) sends `{error: {code, message, field?}}`
// for each HttpError a route or middleware throws.
export const ERROR_CODES = {
  invalid_request: 'a field, header or query parameter is invalid; `field` names it',
  invalid_json: 'the body is not valid JSON',
  invalid_body: 'the body could not be read (a Content-Encoding that does not inflate, a length that does not match)',
  request_aborted: 'the request ended before its body was complete',
  invalid_path: 'a path segment is not valid percent-encoded UTF-8, or holds a control character; `field` names the parameter',
  missing_idempotency_key: 'the Idempotency-Key header is required',
  invalid_idempotency_key: 'the Idempotency-Key is not 1-255 visible ASCII characters',
  api_key_missing: 'no `Authorization: Bearer <key>`',
  api_key_invalid: 'not a key we issued (the answer does not say which part is wrong)',
  api_key_revoked: 'the key has been revoked',
  api_key_expired: 'the key is past its expiry',
  api_key_read_only: 'a restricted key on a write',
  merchant_key_required: "an admin key on a merchant's route",
  admin_key_required: "a merchant's key on an operator route",
  not_found: "no such object for this merchant (another merchant's answers the same)",
  endpoint_limit_reached: 'the merchant has as many webhook endpoints as it may; delete one first',
  too_many_live_secrets: 'too many secrets of this endpoint still sign; rotate again once previous_secret_expires_at has passed',
  delivery_in_progress: 'the delivery is still being attempted',
  endpoint_not_active: "the delivery's endpoint is disabled or deleted",
  payload_too_large: 'the body is over the route\'s limit: 16 KiB, 1 MiB for /codec',
  unsupported_media_type: 'a write without `Content-Type: application/json`, or a body that is not UTF-8',
  idempotency_key_reused: 'the Idempotency-Key was used before with another body (or for another endpoint); nothing ran',
  rate_limited: 'over a rate: new checkouts per customer or per API key, or redeliveries per merchant; see Retry-After',
  too_many_failed_authentications: 'too many refused keys from this address in a minute; see Retry-After',
  overloaded: 'this api process has as many checkouts in flight as it takes; retry with the same Idempotency-Key',
  temporarily_unavailable: 'Postgres or Temporal did not answer in time; retry (with the same Idempotency-Key)',
  checkout_failed: 'the checkout workflow failed unexpectedly; safe to retry with the same Idempotency-Key',
  internal_error: 'an unexpected error; the answer says nothing internal',
  origin_not_allowed: 'a browser page from an origin not in CODEC_CORS_ORIGINS asked to call the codec',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

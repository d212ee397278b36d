// The comparison at the heart of reconciliation, without I/O: the provider's
// charges against the ledger's charge postings, by charge id, else by the
// checkout's workflow ID (its provider key is `<workflowId>:charge`).
import type { MismatchKind } from './reconciliation';

/** A charge as the provider lists it (GET /charges). */
export interface ProviderChargeRecord {
  id: string;
  idempotency_key: string;
  amount_cents: number;
  currency: string;
  /** Unix seconds. */
  created: number;
  refunded: boolean;
}

/** A refund as the provider lists it (GET /refunds). */
export interface ProviderRefundRecord {
  id: string;
  charge_id: string;
  amount_cents: number;
  currency: string;
  created: number;
}

/**
 * The ledger's postings of one checkout, with the charge its payment names:
 * its charge posting, net of the reversal a refund posts (so a refunded
 * checkout's amount is zero, as its charge nets to at the provider).
 */
export interface LedgerChargePosting {
  workflow_id: string;
  provider_charge_id: string | null;
  /** Net on provider clearing: the charge's amount, or 0 once reversed. */
  amount_cents: number;
  currency: string;
}

export interface Mismatch {
  kind: MismatchKind;
  provider_charge_id: string;
  workflow_id: string | null;
  idempotency_key: string | null;
  provider_amount_cents: number | null;
  ledger_amount_cents: number | null;
  currency: string;
}

const CHARGE_KEY_SUFFIX = ':charge';

/** The checkout workflow a provider key belongs to, when it is a checkout's charge key. */
export function workflowIdOfChargeKey(key: string): string | null {
  return key.endsWith(CHARGE_KEY_SUFFIX) ? key.slice(0, -CHARGE_KEY_SUFFIX.length) : null;
}

/**
 * Compares net amounts: what the provider kept (a refunded charge nets to zero,
 * the stub refunds in full) against what the ledger holds for it (the charge
 * posting less its reversal). A refunded charge whose posting is reversed, or
 * that has no posting (compensated before refunds were posted), is no
 * mismatch. A charge standing at the provider whose posting the ledger
 * reversed is money our books do not show: charge_without_posting. Every
 * posting must be matched by a charge in `charges`: the caller has looked each
 * one up; a reversed posting with no charge found nets to nothing and is not
 * reported.
 */
export function compareChargesWithPostings(charges: ProviderChargeRecord[], postings: LedgerChargePosting[]): Mismatch[] {
  const byChargeId = new Map<string, LedgerChargePosting>();
  const byWorkflowId = new Map<string, LedgerChargePosting>();
  for (const p of postings) {
    if (p.provider_charge_id) byChargeId.set(p.provider_charge_id, p);
    byWorkflowId.set(p.workflow_id, p);
  }
  const matched = new Set<LedgerChargePosting>();
  const mismatches: Mismatch[] = [];
  const seenCharges = new Set<string>();

  for (const charge of charges) {
    if (seenCharges.has(charge.id)) continue;
    seenCharges.add(charge.id);
    const workflowId = workflowIdOfChargeKey(charge.idempotency_key);
    const posting = byChargeId.get(charge.id) ?? (workflowId ? byWorkflowId.get(workflowId) : undefined);
    const net = charge.refunded ? 0 : charge.amount_cents;
    // a reversed posting holds nothing: reported as no posting (the findings' ledger amount is null or positive)
    const held = posting && posting.amount_cents !== 0 ? posting : undefined;
    const finding = {
      provider_charge_id: charge.id,
      workflow_id: posting?.workflow_id ?? workflowId,
      idempotency_key: charge.idempotency_key,
      provider_amount_cents: net,
      ledger_amount_cents: held?.amount_cents ?? null,
      currency: charge.currency,
    };
    if (posting) matched.add(posting);
    if (!held) {
      if (net > 0) mismatches.push({ kind: 'charge_without_posting', ...finding });
      continue;
    }
    if (net === 0) mismatches.push({ kind: 'posting_without_charge', ...finding });
    else if (net !== held.amount_cents || charge.currency !== held.currency) mismatches.push({ kind: 'amount_differs', ...finding });
  }

  for (const posting of postings) {
    if (matched.has(posting) || posting.amount_cents === 0) continue;
    mismatches.push({
      kind: 'posting_without_charge',
      provider_charge_id: posting.provider_charge_id ?? `unknown:${posting.workflow_id}`,
      workflow_id: posting.workflow_id,
      idempotency_key: `${posting.workflow_id}${CHARGE_KEY_SUFFIX}`,
      provider_amount_cents: null,
      ledger_amount_cents: posting.amount_cents,
      currency: posting.currency,
    });
  }
  return mismatches;
}

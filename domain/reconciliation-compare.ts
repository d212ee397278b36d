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

/** The ledger's charge posting of one checkout, with the charge its payment names. */
export interface LedgerChargePosting {
  workflow_id: string;
  provider_charge_id: string | null;
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
 * the stub refunds in full) against what the ledger posted. A charge refunded
 * with no posting is a compensated checkout, not a mismatch. Every posting must
 * be matched by a charge in `charges`: the caller has looked each one up.
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
    const finding = {
      provider_charge_id: charge.id,
      workflow_id: posting?.workflow_id ?? workflowId,
      idempotency_key: charge.idempotency_key,
      provider_amount_cents: net,
      ledger_amount_cents: posting?.amount_cents ?? null,
      currency: charge.currency,
    };
    if (!posting) {
      if (net > 0) mismatches.push({ kind: 'charge_without_posting', ...finding });
      continue;
    }
    matched.add(posting);
    if (net === 0) mismatches.push({ kind: 'posting_without_charge', ...finding });
    else if (net !== posting.amount_cents || charge.currency !== posting.currency) mismatches.push({ kind: 'amount_differs', ...finding });
  }

  for (const posting of postings) {
    if (matched.has(posting)) continue;
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

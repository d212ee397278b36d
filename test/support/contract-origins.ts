// The apis whose answers the contract test holds to the document: startTestStack
// registers its api here, and contract-recorder.ts records what fetch gets from them.
const KEY = Symbol.for('checkout.contract-origins');
const holder = globalThis as { [KEY]?: Set<string> };

function origins(): Set<string> {
  holder[KEY] ??= new Set();
  return holder[KEY];
}

export function registerContractOrigin(url: string): void {
  origins().add(new URL(url).origin);
}

export function isContractOrigin(origin: string): boolean {
  return origins().has(origin);
}

// One HTTP request and its answer. Failures come back as values, not
// exceptions: whether a reset or a timeout is worth another try is the retry
// loop's decision, not the transport's.
import type { Answer } from './answer';

export type Exchange = ({ ok: true } & Answer) | { ok: false; error: string };

/** The POST /checkout every attempt of one checkout sends, byte for byte. */
export interface FrozenRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A POST of the frozen request, or a GET of url with these headers. */
export async function exchange(method: 'POST' | 'GET', url: string, timeoutMs: number, request: Pick<FrozenRequest, 'headers'> & { body?: string }): Promise<Exchange> {
  try {
    const res = await fetch(url, {
      method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON (a proxy's error page): kept as text
    }
    return { ok: true, status: res.status, headers: res.headers, body };
  } catch (err) {
    return { ok: false, error: describeFailure(err, timeoutMs) };
  }
}

/** 'timeout after N ms', an errno code such as ECONNRESET, or the causes' messages. */
function describeFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `timeout after ${timeoutMs} ms`;
  const messages: string[] = [];
  let cause: unknown = err;
  for (let depth = 0; depth < 5 && cause instanceof Error; depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return /^E[A-Z]+$/.test(code) ? code : `${code} (${cause.message})`;
    messages.push(cause.message);
    cause = cause.cause;
  }
  return messages.length > 0 ? messages.join(': ') : String(err);
}

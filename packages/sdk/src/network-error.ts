/** Shared with the ecron CLI through the subpath `@ecron/sdk/network-error` (no other import cost). */

/** Why a request got no answer, from the error codes fetch nests in `cause`. */
export function describeNetworkError(error: unknown): string {
  const codes = new Set<string>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 4 || typeof value !== 'object' || value === null) return;
    const code = (value as { code?: unknown }).code;
    if (typeof code === 'string') codes.add(code);
    visit((value as { cause?: unknown }).cause, depth + 1);
    const errors = (value as { errors?: unknown }).errors;
    if (Array.isArray(errors)) for (const inner of errors) visit(inner, depth + 1);
  };
  visit(error, 0);
  if (codes.has('ECONNREFUSED')) return 'connection refused';
  if (codes.has('ENOTFOUND') || codes.has('EAI_AGAIN')) return 'host not found';
  if (codes.has('ECONNRESET') || codes.has('UND_ERR_SOCKET')) return 'connection reset';
  if (codes.has('EHOSTUNREACH') || codes.has('ENETUNREACH')) return 'host unreachable';
  if (codes.has('ETIMEDOUT') || codes.has('UND_ERR_CONNECT_TIMEOUT')) return 'connection timed out';
  if (codes.size > 0) return [...codes].join(', ');
  const cause = (error as { cause?: { message?: unknown } } | null)?.cause?.message;
  return typeof cause === 'string' ? cause : error instanceof Error ? error.message : String(error);
}

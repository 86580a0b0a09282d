import type { Problem } from './types';

/** A problem answer of Herald's API (RFC 9457): `status`, and the problem's `detail` as the message. */
export class HeraldApiError extends Error {
  override readonly name = 'HeraldApiError';

  constructor(
    readonly status: number,
    readonly problem: Problem | null,
    url: string,
  ) {
    super(problem?.detail ?? problem?.title ?? `${url} answered ${status}`);
  }

  /** One line per invalid field (`field: message`), as a 400 lists them. */
  get fieldErrors(): string[] {
    return (this.problem?.errors ?? []).map((e) => `${e.field}: ${e.message}`);
  }
}

/** The problem in an error answer's body, when it is one. */
export function asProblem(body: unknown): Problem | null {
  if (typeof body !== 'object' || body === null) return null;
  const p = body as Partial<Problem>;
  return typeof p.status === 'number' && typeof p.title === 'string' ? (body as Problem) : null;
}

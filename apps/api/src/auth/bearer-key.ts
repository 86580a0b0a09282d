/** The key in an `Authorization: Bearer <key>` header, if that is what the header holds. */
export function bearerKey(req: { headers: { authorization?: string | string[] } }): string | null {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1] : null;
}

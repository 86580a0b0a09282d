/**
 * An outbound request aimed at an address the SSRF guard does not allow. Permanent: retrying cannot
 * change where the name points to in a way we would accept, so senders map it to `failed(...)`.
 */
export class DestinationDeniedError extends Error {
  constructor(
    readonly address: string,
    readonly reason: string,
    readonly hostname?: string,
  ) {
    const target = hostname && hostname !== address ? `${hostname} (${address})` : address;
    super(`destination ${target} is not allowed (${reason})`);
    this.name = 'DestinationDeniedError';
  }
}

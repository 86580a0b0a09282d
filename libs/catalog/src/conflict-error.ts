/** The request clashes with what the catalog holds (e.g. a topic of that name with other attributes): a 409. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

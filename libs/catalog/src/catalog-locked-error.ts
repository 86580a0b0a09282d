/** Another live process has the embedded catalog's folder open; the embedded catalog serves one process. */
export class CatalogLockedError extends Error {
  constructor(
    readonly folder: string,
    readonly pid: number,
  ) {
    super(
      `The embedded catalog at ${folder} is already open in process ${pid}. The embedded catalog serves one ` +
        `process; run api and workers in one process (HERALD_ROLES=api,worker) or use PostgreSQL ` +
        `(DATABASE_URL=postgres://…). If no such process is running, delete ${folder}/herald.lock.`,
    );
    this.name = 'CatalogLockedError';
  }
}

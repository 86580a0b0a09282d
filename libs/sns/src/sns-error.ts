/**
 * An SNS error as the AWS Query protocol carries it: `<ErrorResponse><Error><Type/><Code/><Message/>`
 * with the HTTP status the SDK maps the code from (the `awsQueryError` trait of each SNS exception).
 */
export class SnsError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(message);
    this.name = 'SnsError';
  }
}

/** `InvalidParameter`, worded as SNS words it: `Invalid parameter: <Name>` and the reason. */
export const invalidParameter = (name: string, reason?: string) =>
  new SnsError('InvalidParameter', 400, `Invalid parameter: ${name}${reason ? ` Reason: ${reason}` : ''}`);

export const notFound = (message: string) => new SnsError('NotFound', 404, message);

export const authorizationError = (message: string) => new SnsError('AuthorizationError', 403, message);

export const internalError = () =>
  new SnsError('InternalError', 500, 'The server could not handle the request; it has been logged.');

import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { LambdaConfig } from '@herald/config';
import {
  classifyHttpStatus,
  classifyNetworkError,
  delivered,
  failed,
  retry,
  type DeliveryOutcome,
} from '@herald/core';
import type { LambdaArn } from './lambda-arn';

/** Lambda errors answered with a 4xx that clear up on their own (the function is being updated). */
const TRANSIENT_LAMBDA_ERRORS = new Set(['ResourceConflictException', 'SnapStartNotReadyException']);

const MAX_ERROR_TEXT = 300;

type LambdaSdk = typeof import('@aws-sdk/client-lambda');

export interface LambdaInvokerOptions {
  connectTimeoutMs: number;
  /** How long a synchronous invocation may take, the function's own run time included. */
  requestTimeoutMs: number;
}

/**
 * Calls the Lambda Invoke API (RequestResponse) with the AWS SDK, one client per region.
 *
 * The SSRF guard does not apply here: with LAMBDA_ENDPOINT_URL the operator chose the endpoint
 * (often a LocalStack on a private address), and without it the SDK only talks to AWS's public
 * `lambda.<region>.amazonaws.com` endpoints, whose host a subscriber cannot choose.
 */
export class LambdaInvoker {
  private readonly clients = new Map<string, LambdaClient>();
  /** The SDK, loaded at the first invocation: it costs about 750 ms and 18 MB to load. */
  private sdk: Promise<LambdaSdk> | null = null;

  constructor(
    private readonly config: LambdaConfig,
    private readonly options: LambdaInvokerOptions,
  ) {}

  hasCredentials(): boolean {
    return Boolean(this.config.accessKeyId && this.config.secretAccessKey);
  }

  /** Invokes the function with a JSON payload and classifies the result; never throws. */
  async invoke(arn: LambdaArn, payload: string): Promise<DeliveryOutcome> {
    if (!this.hasCredentials()) {
      return failed('AWS credentials are not configured (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)');
    }
    let sdk: LambdaSdk;
    try {
      sdk = await (this.sdk ??= import('@aws-sdk/client-lambda'));
    } catch (err) {
      this.sdk = null;
      return retry(`the AWS SDK could not be loaded: ${(err as Error).message}`);
    }
    try {
      const client = this.clientFor(sdk, arn.region);
      const output = await client.send(
        new sdk.InvokeCommand({
          FunctionName: arn.functionArn,
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(payload),
          ...(arn.qualifier ? { Qualifier: arn.qualifier } : {}),
        }),
      );
      const status = output.StatusCode ?? output.$metadata.httpStatusCode ?? 200;
      if (output.FunctionError) {
        // The function ran and failed: its own error, worth another try like a 5xx.
        const detail = functionErrorText(output.Payload?.transformToString());
        return retry(
          truncate(`function error (${output.FunctionError})${detail ? `: ${detail}` : ''}`),
          status,
        );
      }
      return delivered(status);
    } catch (err) {
      return classifyLambdaError(sdk, err);
    }
  }

  async close(): Promise<void> {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }

  private clientFor(sdk: LambdaSdk, region: string): LambdaClient {
    let client = this.clients.get(region);
    if (!client) {
      const { accessKeyId, sessionToken, endpoint } = this.config;
      const secretAccessKey = this.config.secretAccessKey ?? '';
      // Herald pins an SDK release that supports Node 20; its warning about later releases needing
      // Node 22 would otherwise land in every worker's output at the first Lambda delivery.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      client = new sdk.LambdaClient({
        region,
        credentials: {
          accessKeyId: accessKeyId ?? '',
          secretAccessKey,
          ...(sessionToken ? { sessionToken } : {}),
        },
        ...(endpoint ? { endpoint } : {}),
        // Herald's delivery worker owns retries and backoff; the SDK must not add its own.
        maxAttempts: 1,
        requestHandler: {
          connectionTimeout: this.options.connectTimeoutMs,
          requestTimeout: this.options.requestTimeoutMs,
          throwOnRequestTimeout: true,
        },
      });
      this.clients.set(region, client);
    }
    return client;
  }
}

function classifyLambdaError(sdk: LambdaSdk, err: unknown): DeliveryOutcome {
  if (!(err instanceof sdk.LambdaServiceException) || err.$metadata.httpStatusCode === undefined) {
    return classifyNetworkError(err);
  }
  const status = err.$metadata.httpStatusCode;
  const text = truncate(`${err.name}: ${err.message}`);
  if (TRANSIENT_LAMBDA_ERRORS.has(err.name)) return retry(text, status);
  const retryAfter = err instanceof sdk.TooManyRequestsException ? err.retryAfterSeconds : undefined;
  const outcome = classifyHttpStatus(status, retryAfter);
  // Lambda has no 410 semantics of its own; a vanished function is a plain permanent failure.
  if (outcome.result === 'failed') return failed(text, status);
  return retry(text, status, outcome.result === 'retry' ? outcome.retryAfterMs : undefined);
}

function functionErrorText(payload: string | undefined): string {
  if (!payload) return '';
  try {
    const parsed = JSON.parse(payload) as unknown;
    if (parsed && typeof parsed === 'object') {
      const { errorType, errorMessage } = parsed as { errorType?: unknown; errorMessage?: unknown };
      const parts = [errorType, errorMessage].filter((p): p is string => typeof p === 'string' && p !== '');
      if (parts.length > 0) return parts.join(': ');
    }
  } catch {
    // Not JSON: the raw text is the best description there is.
  }
  return payload;
}

function truncate(text: string): string {
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT - 1)}…` : text;
}

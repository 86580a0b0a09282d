import { SNSClient } from '@aws-sdk/client-sns';
import MessageValidator from 'sns-validator';
import { createVerify } from 'node:crypto';
import { expect } from 'vitest';
import type { TestHerald } from './herald';
import { httpsGet } from './tls';

// The SDK release pinned for Node 20 would otherwise warn, at its first call, that later ones need Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** An API key with AWS credentials, made through `POST /v1/api-keys`. */
export async function awsKey(
  herald: TestHerald,
  scopes: string[],
  topics?: string[],
): Promise<AwsCredentials & { id: string; key: string }> {
  const res = await herald.request('POST', '/v1/api-keys', {
    name: `sns-${scopes.join('-')}`,
    scopes,
    ...(topics ? { topics } : {}),
    awsCredentials: true,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** The stock SDK client, configured as an application would: endpoint, region, credentials. */
export function snsClient(endpoint: string, credentials: AwsCredentials, region = 'us-east-1'): SNSClient {
  return new SNSClient({ endpoint, region, credentials });
}

/** The error an SDK call rejects with (its `name` is the SDK's exception, `Code` SNS's code). */
export async function snsFailure(
  call: Promise<unknown>,
): Promise<Error & { Code?: string; $metadata: { httpStatusCode?: number } }> {
  try {
    await call;
  } catch (err) {
    return err as Error & { Code?: string; $metadata: { httpStatusCode?: number } };
  }
  throw new Error('the SNS call succeeded');
}

/** Verifies an SNS message with the stock sns-validator (it fetches the certificate over https). */
export function validateWithSnsValidator(body: string, hostPattern: RegExp): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    new MessageValidator(hostPattern).validate(body, (err: Error | null, message: Record<string, string>) =>
      err ? reject(err) : resolve(message),
    );
  });
}

/**
 * Verifies a SubscriptionConfirmation or UnsubscribeConfirmation the way AWS documents it: the fields
 * Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn and Type, SHA256withRSA with the certificate
 * at SigningCertURL (sns-validator leaves Token out for UnsubscribeConfirmation, so it cannot check one).
 */
export async function verifyAsAwsDocuments(doc: Record<string, string>): Promise<boolean> {
  const fields = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const text = fields.map((f) => `${f}\n${doc[f]}\n`).join('');
  const cert = await httpsGet(doc.SigningCertURL);
  expect(cert.status).toBe(200);
  return createVerify('RSA-SHA256').update(text, 'utf8').verify(cert.body, doc.Signature, 'base64');
}

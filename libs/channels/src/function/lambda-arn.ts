/** A Lambda function ARN, split into what the Invoke API needs. */
export interface LambdaArn {
  /** The ARN without its qualifier: the FunctionName of the Invoke call. */
  functionArn: string;
  region: string;
  accountId: string;
  functionName: string;
  /** Version or alias (`$LATEST`, `7`, `live`), sent as `?Qualifier=`. */
  qualifier: string | null;
}

const ARN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc):lambda:([a-z]{2}(?:-[a-z]+)+-\d{1,2}):(\d{12}):function:([A-Za-z0-9_-]{1,64})(?::(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/;

/** Parses `arn:aws:lambda:<region>:<12 digits>:function:<name>[:<qualifier>]`; null when it is not one. */
export function parseLambdaArn(value: string): LambdaArn | null {
  const m = ARN.exec(value);
  if (!m) return null;
  const [, partition, region, accountId, functionName, qualifier] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  return {
    functionArn: `arn:${partition}:lambda:${region}:${accountId}:function:${functionName}`,
    region,
    accountId,
    functionName,
    qualifier: qualifier ?? null,
  };
}

declare module 'sns-validator' {
  /** The stock SNS message validator (AWS's sns-validator package). */
  export default class MessageValidator {
    constructor(hostPattern?: RegExp, encoding?: string);
    validate(
      message: string | Record<string, unknown>,
      callback: (err: Error | null, message: Record<string, string>) => void,
    ): void;
  }
}

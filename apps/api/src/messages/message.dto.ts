import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ANY_JSON } from '../openapi/schemas';

/** OpenAPI shape of a publish; the body is checked by parsePublish so that `body` stays as sent. */
export class PublishDto {
  @ApiProperty({ anyOf: ANY_JSON.anyOf, description: 'a string or any JSON value' })
  body!: unknown;

  @ApiPropertyOptional({ maxLength: 100, description: 'no line breaks' })
  subject?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: {
      anyOf: [
        { type: 'string' },
        { type: 'number' },
        { type: 'boolean' },
        { type: 'array', items: { type: 'string' } },
        { type: 'array', items: { type: 'number' } },
      ],
    },
    description: 'name ([A-Za-z0-9_.-]{1,256}) → string | number | boolean | string[] | number[]',
  })
  attributes?: Record<string, unknown>;

  @ApiPropertyOptional({ type: Object, description: 'per-protocol bodies: email, sms, webhook, function' })
  bodyByProtocol?: Record<string, unknown>;

  @ApiPropertyOptional({ maxLength: 128, description: 'or the Idempotency-Key header' })
  idempotencyKey?: string;
}

export class BatchPublishDto {
  @ApiProperty({ type: [PublishDto], maxItems: 100 })
  messages!: PublishDto[];
}

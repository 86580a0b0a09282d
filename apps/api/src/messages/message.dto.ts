import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
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

/** POST /v1/messages/{id}/resend: every delivery of the message again, or the one to this subscription. */
export class ResendDto {
  @ApiPropertyOptional({
    description: 'only the delivery to this subscription',
    example: 'sub_01JH3Z8V9K2M4N6P8Q0R2S4T6V',
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  subscriptionId?: string;
}

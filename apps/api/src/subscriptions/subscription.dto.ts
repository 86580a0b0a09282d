import {
  DELIVERY_FORMATS,
  PROTOCOLS,
  SUBSCRIPTION_STATUSES,
  type DeliveryFormat,
  type Protocol,
  type SubscriptionStatus,
} from '@herald/core';
import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsObject, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { DeliveryPolicyDto } from '../topics/topic.dto';
import { OptionalNotNull, PageQuery } from '../common.dto';

/** `format`: what receivers get, Herald's documents or SNS's. */
const DeliveryFormatProperty = () =>
  applyDecorators(
    ApiPropertyOptional({
      enum: DELIVERY_FORMATS,
      default: 'herald',
      description: "what receivers get: Herald's documents, or SNS's (webhook, email, Lambda functions)",
    }),
    IsOptional(),
    IsIn(DELIVERY_FORMATS, { message: `must be one of ${DELIVERY_FORMATS.join(', ')}` }),
  );

export class CreateSubscriptionDto {
  @ApiProperty({ enum: PROTOCOLS })
  @IsIn(PROTOCOLS, { message: `must be one of ${PROTOCOLS.join(', ')}` })
  protocol!: Protocol;

  @ApiProperty({
    description: 'https URL, email address, E.164 number, or function URL / Lambda ARN',
    maxLength: 2048,
  })
  @IsString()
  @MinLength(1)
  @MaxLength(2048)
  endpoint!: string;

  @ApiPropertyOptional({ type: Object, description: 'AWS SNS filter-policy language' })
  @IsOptional()
  @IsObject()
  filterPolicy?: Record<string, unknown>;

  @ApiPropertyOptional({ enum: ['attributes', 'body'], default: 'attributes' })
  @OptionalNotNull()
  @IsIn(['attributes', 'body'], { message: 'must be "attributes" or "body"' })
  filterPolicyScope?: 'attributes' | 'body';

  @ApiPropertyOptional({ default: false })
  @OptionalNotNull()
  @IsBoolean()
  rawDelivery?: boolean;

  @ApiPropertyOptional({ type: DeliveryPolicyDto })
  @IsOptional()
  @IsObject()
  deliveryPolicy?: Record<string, unknown>;

  @DeliveryFormatProperty()
  format?: DeliveryFormat;

  @ApiPropertyOptional({ default: false, description: 'admin keys only: start active without confirmation' })
  @OptionalNotNull()
  @IsBoolean()
  skipConfirmation?: boolean;

  @ApiPropertyOptional({ type: Object })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;

  @ApiPropertyOptional({
    description:
      'webhook and function: the signing secret, chosen by the subscriber so its receiver can verify the ' +
      'confirmation; "whsec_" + base64 of 24 to 64 random bytes. Generated when absent.',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    maxLength: 106,
  })
  @IsOptional()
  @IsString()
  @MaxLength(106)
  secret?: string;
}

export class UpdateSubscriptionDto {
  @ApiPropertyOptional({ type: Object, nullable: true })
  @IsOptional()
  @IsObject()
  filterPolicy?: Record<string, unknown> | null;

  @ApiPropertyOptional({ enum: ['attributes', 'body'] })
  @OptionalNotNull()
  @IsIn(['attributes', 'body'], { message: 'must be "attributes" or "body"' })
  filterPolicyScope?: 'attributes' | 'body';

  @ApiPropertyOptional()
  @OptionalNotNull()
  @IsBoolean()
  rawDelivery?: boolean;

  @ApiPropertyOptional({ type: DeliveryPolicyDto, nullable: true })
  @IsOptional()
  @IsObject()
  deliveryPolicy?: Record<string, unknown> | null;

  @DeliveryFormatProperty()
  format?: DeliveryFormat;

  @ApiPropertyOptional({ enum: ['active', 'paused'] })
  @OptionalNotNull()
  @IsIn(['active', 'paused'], { message: 'must be "active" or "paused"' })
  status?: 'active' | 'paused';
}

export class ListSubscriptionsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: SUBSCRIPTION_STATUSES })
  @IsOptional()
  @IsIn(SUBSCRIPTION_STATUSES, {
    message: `must be one of ${SUBSCRIPTION_STATUSES.join(', ')}`,
  })
  status?: SubscriptionStatus;

  @ApiPropertyOptional({ enum: PROTOCOLS })
  @IsOptional()
  @IsIn(PROTOCOLS, { message: `must be one of ${PROTOCOLS.join(', ')}` })
  protocol?: Protocol;
}

export class TokenQuery {
  @ApiProperty()
  @IsString()
  @MaxLength(200)
  token!: string;
}

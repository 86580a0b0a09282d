import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { TOPIC_NAME } from '../resource-ids';

export { TOPIC_NAME };

export class DeliveryPolicyDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 15 }) maxAttempts?: number;
  @ApiPropertyOptional({ minimum: 0, default: 1000 }) minDelayMs?: number;
  @ApiPropertyOptional({ minimum: 0, default: 3600000 }) maxDelayMs?: number;
  @ApiPropertyOptional({ minimum: 1, nullable: true, type: Number }) throttlePerSecond?: number | null;
}

export class CreateTopicDto {
  @ApiProperty({ pattern: TOPIC_NAME.source, example: 'orders' })
  @IsString()
  @Matches(TOPIC_NAME, { message: 'must match ^[A-Za-z0-9_-]{1,256}$' })
  name!: string;

  @ApiPropertyOptional({ maxLength: 256 })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  displayName?: string;

  @ApiPropertyOptional({ maxLength: 2048 })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  description?: string;

  @ApiPropertyOptional({ type: DeliveryPolicyDto })
  @IsOptional()
  @IsObject()
  deliveryPolicy?: Record<string, unknown>;
}

export class UpdateTopicDto {
  @ApiPropertyOptional({ type: String, maxLength: 256, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  displayName?: string | null;

  @ApiPropertyOptional({ type: String, maxLength: 2048, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  description?: string | null;

  @ApiPropertyOptional({ type: DeliveryPolicyDto, nullable: true })
  @IsOptional()
  @IsObject()
  deliveryPolicy?: Record<string, unknown> | null;
}

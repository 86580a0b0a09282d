import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { Type } from 'class-transformer';

/**
 * Optional, but not nullable: `@IsOptional()` skips validation for null as well as for a missing field,
 * which let `{"rawDelivery": null}` through to a NOT NULL column.
 */
export const OptionalNotNull = () => ValidateIf((_object, value) => value !== undefined);

/** `?limit=&cursor=` of every list. */
export class PageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export const page = (q: PageQuery) => ({ limit: q.limit ?? 100, cursor: q.cursor ?? null });

import { Catalog } from '@herald/catalog';
import { SCOPES, type Scope } from '@herald/core';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { page, PageQuery } from '../common.dto';
import { notFound } from '../problem/problem';
import { KEY_ID } from '../resource-ids';
import { CurrentPrincipal, RequireScope } from './auth.decorators';
import { ApiKeyService } from './api-key.service';
import type { Principal } from './principal';
import { ApiDoc } from '../openapi/api-doc';
import { API_KEY_EXAMPLE, ApiKeySchema, CreatedApiKeySchema, CurrentApiKeySchema } from '../openapi/schemas';

export class CreateApiKeyDto {
  @ApiProperty({ maxLength: 200 })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiProperty({ enum: SCOPES, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @IsIn(SCOPES, {
    each: true,
    message: `each scope must be one of ${SCOPES.join(', ')}`,
  })
  scopes!: Scope[];

  @ApiPropertyOptional({ type: [String], description: 'limit the key to these topics' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @Matches(/^[A-Za-z0-9_-]{1,256}$/, { each: true, message: 'each topic must be a topic name' })
  topics?: string[];

  @ApiPropertyOptional({ description: 'also issue an access key id and secret for the SNS API (SigV4)' })
  @IsOptional()
  @IsBoolean()
  awsCredentials?: boolean;
}

@ApiTags('api keys')
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly catalog: Catalog,
  ) {}

  @ApiDoc({
    summary: "Create an API key, within the caller's own scopes and topics",
    status: 201,
    type: CreatedApiKeySchema,
    example: { ...API_KEY_EXAMPLE, key: 'hk_3q2-7w1X0Wm0Vf6x2Z8v9K2M4N6P8Q0R' },
  })
  @Post()
  @RequireScope('admin', 'new-key')
  async create(@Body() dto: CreateApiKeyDto) {
    const created = await this.keys.create({
      name: dto.name,
      scopes: [...new Set(dto.scopes)],
      topics: dto.topics ?? null,
      awsCredentials: dto.awsCredentials,
    });
    return {
      id: created.id,
      name: created.name,
      scopes: created.scopes,
      topics: created.topics,
      createdAt: created.createdAt,
      key: created.key,
      accessKeyId: created.accessKeyId ?? null,
      ...(created.secretAccessKey ? { secretAccessKey: created.secretAccessKey } : {}),
    };
  }

  @ApiDoc({
    summary: 'The calling key itself, whatever its scopes: what a client (the console) may offer its holder',
    type: CurrentApiKeySchema,
    example: {
      id: API_KEY_EXAMPLE.id,
      name: API_KEY_EXAMPLE.name,
      scopes: API_KEY_EXAMPLE.scopes,
      topics: API_KEY_EXAMPLE.topics,
    },
  })
  @Get('current')
  @RequireScope(null, 'self')
  current(@CurrentPrincipal() p: Principal) {
    return { id: p.keyId, name: p.name, scopes: [...p.scopes], topics: p.topics };
  }

  @ApiDoc({
    summary: 'List API keys (never the keys themselves)',
    page: ApiKeySchema,
    example: API_KEY_EXAMPLE,
  })
  @Get()
  @RequireScope('admin')
  async list(@Query() q: PageQuery) {
    const result = await this.catalog.apiKeys.list(page(q));
    return {
      items: result.items.map((k) => ({
        id: k.id,
        name: k.name,
        scopes: k.scopes,
        topics: k.topics,
        accessKeyId: k.accessKeyId,
        createdAt: k.createdAt,
      })),
      nextCursor: result.nextCursor,
    };
  }

  @ApiDoc({ summary: 'Delete an API key: it stops working at once', status: 204 })
  @Delete(':id')
  @RequireScope('admin')
  @HttpCode(204)
  async remove(@Param('id') id: string) {
    if (!KEY_ID.test(id) || !(await this.keys.delete(id))) throw notFound('API key', id);
  }
}

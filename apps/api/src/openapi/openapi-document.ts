import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { completeOpenApiDocument } from './complete-document';

const INFO = new DocumentBuilder()
  .setTitle('Herald')
  .setDescription(
    'Self-hosted pub/sub notification fan-out: topics, subscriptions, publish, deliveries, dead letters.',
  )
  .setVersion('1')
  .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'API key (hk_…)' })
  .build();

/** Herald's OpenAPI document, as `/docs/openapi.json` serves it and `npm run build` writes it. */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  return completeOpenApiDocument(SwaggerModule.createDocument(app, INFO));
}

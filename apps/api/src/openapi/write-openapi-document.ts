import 'reflect-metadata';
import { loadConfig } from '@herald/config';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { writeFileSync } from 'node:fs';
import pino from 'pino';
import { AppModule } from '../app.module';
import { createOpenApiDocument } from './openapi-document';

/**
 * `npm run build`'s step before the typed client: writes the OpenAPI document to the file given, with
 * no Redis, catalog or port. Nest's preview mode builds the module graph without running a provider,
 * and the document is made from the controllers' metadata alone.
 */
async function writeOpenApiDocument(file: string): Promise<void> {
  const config = loadConfig({ DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' });
  const app = await NestFactory.create(
    AppModule.forRoot(config, pino({ level: 'silent' })),
    new FastifyAdapter(),
    {
      preview: true,
      logger: false,
      abortOnError: false,
    },
  );
  writeFileSync(file, `${JSON.stringify(createOpenApiDocument(app), null, 2)}\n`);
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node write-openapi-document.js <file>\n');
  process.exit(2);
}
writeOpenApiDocument(file).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `could not write the OpenAPI document: ${err instanceof Error ? err.stack : String(err)}\n`,
    );
    process.exit(1);
  },
);

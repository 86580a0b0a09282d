import type { FieldError } from '@herald/core';
import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { validationFailed } from './problem';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors) {
    const field = parent ? `${parent}.${e.property}` : e.property;
    for (const message of Object.values(e.constraints ?? {})) {
      // class-validator repeats the property name at the start of its messages; the field says it already.
      out.push({
        field,
        message: message.startsWith(`${e.property} `) ? message.slice(e.property.length + 1) : message,
      });
    }
    if (e.children?.length) out.push(...flatten(e.children, field));
  }
  return out;
}

/** Validates DTOs, refuses unknown fields, and answers 400 problem+json listing every bad field. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => validationFailed(flatten(errors)),
  });
}

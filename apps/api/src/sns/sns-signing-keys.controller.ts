import { SnsDocuments, SnsKeyring } from '@herald/sns';
import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators';
import { ApiDoc } from '../openapi/api-doc';
import { SIGNING_KEY_EXAMPLE, SigningKeySchema } from '../openapi/schemas';

@ApiTags('sns')
@Controller('v1/sns/signing-keys')
export class SnsSigningKeysController {
  constructor(
    private readonly keyring: SnsKeyring,
    private readonly documents: SnsDocuments,
  ) {}

  @ApiDoc({
    summary: 'Rotate the key SNS-format messages are signed with (the old certificates stay served)',
    status: 201,
    type: SigningKeySchema,
    example: SIGNING_KEY_EXAMPLE,
  })
  @Post()
  @RequireScope('admin')
  @HttpCode(201)
  async rotate() {
    const key = await this.keyring.rotate();
    return { id: key.id, signingCertUrl: this.documents.certificateUrl(key.id), createdAt: key.createdAt };
  }
}

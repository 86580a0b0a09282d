import { SnsDocuments, SnsKeyring } from '@herald/sns';
import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators';

@ApiTags('sns')
@ApiBearerAuth()
@Controller('v1/sns/signing-keys')
export class SnsSigningKeysController {
  constructor(
    private readonly keyring: SnsKeyring,
    private readonly documents: SnsDocuments,
  ) {}

  /** Rotates the key SNS-format messages are signed with; the old certificates stay served. */
  @Post()
  @RequireScope('admin')
  @HttpCode(201)
  async rotate() {
    const key = await this.keyring.rotate();
    return { id: key.id, signingCertUrl: this.documents.certificateUrl(key.id), createdAt: key.createdAt };
  }
}

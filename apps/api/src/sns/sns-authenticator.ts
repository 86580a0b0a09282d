import type { HeraldConfig } from '@herald/config';
import { HERALD_CONFIG } from '@herald/runtime';
import {
  checkSigV4Request,
  signatureMatches,
  signatureMismatch,
  unknownAccessKey,
  type SignedRequest,
} from '@herald/sns';
import { Inject, Injectable } from '@nestjs/common';
import { ApiKeyService } from '../auth/api-key.service';
import type { Principal } from '../auth/principal';

/** SigV4 for the SNS API: the access key names an API key, whose principal the action runs as. */
@Injectable()
export class SnsAuthenticator {
  constructor(
    private readonly keys: ApiKeyService,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {}

  /** The principal of a signed request; throws the SnsError AWS would answer. */
  async principal(request: SignedRequest): Promise<Principal> {
    const auth = checkSigV4Request(request, { region: this.config.sns.region, service: 'sns' });
    const found = await this.keys.resolveAccessKey(auth.accessKeyId);
    if (!found) throw unknownAccessKey();
    if (!signatureMatches(request, auth, found.secretAccessKey)) throw signatureMismatch();
    return found.principal;
  }
}

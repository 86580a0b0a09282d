import { Controller } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';

/** Provider callbacks (Twilio); filled in with the SMS channel. */
@ApiTags('provider callbacks')
@Controller('v1/providers')
export class ProvidersController {}

import { Catalog } from '@herald/catalog';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import { assertTopic, type Principal } from '../auth/principal';
import { page } from '../common.dto';
import { DeliveryListQuery } from '../messages/messages.controller';
import { notFound } from '../problem/problem';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';

const DLV_ID = /^dlv_[0-9A-Z]{52}$/;

@ApiTags('deliveries')
@ApiBearerAuth()
@Controller('v1')
export class DeliveriesController {
  constructor(
    private readonly catalog: Catalog,
    private readonly subs: SubscriptionsService,
  ) {}

  @Get('subscriptions/:id/deliveries')
  @RequireScope('read')
  async bySubscription(
    @Param('id') id: string,
    @Query() q: DeliveryListQuery,
    @CurrentPrincipal() p: Principal,
  ) {
    await this.subs.find(id, p);
    return this.catalog.deliveries.listBySubscription(id, { status: q.status }, page(q));
  }

  @Get('deliveries/:id')
  @RequireScope('read')
  async get(@Param('id') id: string, @CurrentPrincipal() p: Principal) {
    const delivery = DLV_ID.test(id) ? await this.catalog.deliveries.get(id) : null;
    if (!delivery) throw notFound(`Delivery "${id}"`);
    assertTopic(p, delivery.topic);
    return delivery;
  }
}

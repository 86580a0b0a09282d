import { Catalog } from '@herald/catalog';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators';
import { page } from '../common.dto';
import { DeliveryListQuery } from '../messages/messages.controller';
import { notFound } from '../problem/problem';
import { DLV_ID } from '../resource-ids';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';

@ApiTags('deliveries')
@ApiBearerAuth()
@Controller('v1')
export class DeliveriesController {
  constructor(
    private readonly catalog: Catalog,
    private readonly subs: SubscriptionsService,
  ) {}

  @Get('subscriptions/:id/deliveries')
  @RequireScope('read', 'subscription')
  async bySubscription(@Param('id') id: string, @Query() q: DeliveryListQuery) {
    await this.subs.find(id);
    return this.catalog.deliveries.listBySubscription(id, { status: q.status }, page(q));
  }

  @Get('deliveries/:id')
  @RequireScope('read', 'delivery')
  async get(@Param('id') id: string) {
    const delivery = DLV_ID.test(id) ? await this.catalog.deliveries.get(id) : null;
    if (!delivery) throw notFound('Delivery', id);
    return delivery;
  }
}

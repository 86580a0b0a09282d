import { Catalog } from '@herald/catalog';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators';
import { page } from '../common.dto';
import { DeliveryListQuery } from '../messages/messages.controller';
import { notFound } from '../problem/problem';
import { DLV_ID } from '../resource-ids';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';
import { ApiDoc } from '../openapi/api-doc';
import {
  DELIVERY_DETAIL_EXAMPLE,
  DELIVERY_EXAMPLE,
  DeliveryDetailSchema,
  DeliverySchema,
} from '../openapi/schemas';

@ApiTags('deliveries')
@Controller('v1')
export class DeliveriesController {
  constructor(
    private readonly catalog: Catalog,
    private readonly subs: SubscriptionsService,
  ) {}

  @ApiDoc({ summary: "List a subscription's deliveries", page: DeliverySchema, example: DELIVERY_EXAMPLE })
  @Get('subscriptions/:id/deliveries')
  @RequireScope('read', 'subscription')
  async bySubscription(@Param('id') id: string, @Query() q: DeliveryListQuery) {
    await this.subs.find(id);
    return this.catalog.deliveries.listBySubscription(id, { status: q.status }, page(q));
  }

  @ApiDoc({
    summary: 'Get a delivery with every attempt',
    type: DeliveryDetailSchema,
    example: DELIVERY_DETAIL_EXAMPLE,
  })
  @Get('deliveries/:id')
  @RequireScope('read', 'delivery')
  async get(@Param('id') id: string) {
    const delivery = DLV_ID.test(id) ? await this.catalog.deliveries.get(id) : null;
    if (!delivery) throw notFound('Delivery', id);
    return delivery;
  }
}

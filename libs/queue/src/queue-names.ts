import type { Protocol } from '@herald/core';

export const FANOUT_QUEUE = 'fanout';

export type DeliveryQueueName = `deliver-${Protocol}`;
export type QueueName = typeof FANOUT_QUEUE | DeliveryQueueName;

export const deliveryQueueFor = (protocol: Protocol): DeliveryQueueName => `deliver-${protocol}`;

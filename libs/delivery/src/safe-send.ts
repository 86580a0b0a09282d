import type { ChannelAdapter, DeliveryRequest } from '@herald/channels';
import { classifyNetworkError, type DeliveryOutcome, type Topic } from '@herald/core';

/** What a channel needs of a topic: its name and display name (the topic may be gone). */
export function topicView(topic: Topic | null, name: string): Pick<Topic, 'name' | 'displayName'> {
  return { name, displayName: topic?.displayName ?? null };
}

/** Adapters return outcomes; anything they throw is an unexpected error, retried like a network error. */
export async function safeSend(adapter: ChannelAdapter, request: DeliveryRequest): Promise<DeliveryOutcome> {
  try {
    return await adapter.send(request);
  } catch (err) {
    return classifyNetworkError(err);
  }
}

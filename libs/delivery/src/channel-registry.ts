import type { ChannelAdapter } from '@herald/channels';
import type { Protocol } from '@herald/core';

/** The channel adapters of this process, one per protocol. */
export class ChannelRegistry {
  constructor(
    private readonly adapters: ReadonlyMap<Protocol, ChannelAdapter>,
    /** Shared resources the adapters use (the outbound HTTP client), closed after them. */
    private readonly shared: Array<{ close(): Promise<void> }> = [],
  ) {}

  adapter(protocol: Protocol): ChannelAdapter {
    const adapter = this.adapters.get(protocol);
    if (!adapter) throw new Error(`no channel adapter for protocol ${protocol}`);
    return adapter;
  }

  all(): ChannelAdapter[] {
    return [...this.adapters.values()];
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((a) => a.close()));
    await Promise.all(this.shared.map((s) => s.close()));
  }
}

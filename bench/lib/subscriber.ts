import type { MqttClient } from 'mqtt';
import { connectClient } from './publishers.js';

export interface LatencySubscriber {
  client: MqttClient;
  received(): number;
  /** publish→receive latencies in ms of every message that carried a known send time. */
  latencies(): number[];
}

/**
 * One QoS 1 subscriber. Each payload's `seq` and its topic identify the publish; `sentAt(topic, seq)` gives
 * when it was sent (performance.now() of this same process, so the clocks agree).
 */
export async function startLatencySubscriber(
  url: string,
  filter: string,
  sentAt: (topic: string, seq: number) => number | undefined,
  credentials: { username?: string; password?: string } = {},
): Promise<LatencySubscriber> {
  const client = await connectClient(url, credentials.username, credentials.password);
  const latencies: number[] = [];
  let received = 0;
  client.on('message', (topic, payload) => {
    const now = performance.now();
    received += 1;
    const seq = (JSON.parse(payload.toString('utf8')) as { seq?: number }).seq;
    const sent = seq === undefined ? undefined : sentAt(topic, seq);
    if (sent !== undefined) latencies.push(now - sent);
  });
  const granted = await client.subscribeAsync(filter, { qos: 1 });
  if (granted[0]?.qos !== 1) throw new Error(`subscription to ${filter} refused: ${JSON.stringify(granted)}`);
  return { client, received: () => received, latencies: () => latencies };
}

/** Send times per publisher: one array per topic, indexed by seq. */
export class SendTimes {
  private readonly byTopic = new Map<string, number[]>();
  constructor(private readonly topics: readonly string[]) {
    for (const t of topics) this.byTopic.set(t, []);
  }
  note(index: number, seq: number): void {
    const list = this.byTopic.get(this.topics[index] as string);
    if (list) list[seq] = performance.now();
  }
  get(topic: string, seq: number): number | undefined {
    return this.byTopic.get(topic)?.[seq];
  }
}

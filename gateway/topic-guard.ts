import type { AedesOptions } from 'aedes';

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>;

/**
 * mqtt-packet decodes a topic with Buffer#toString, which turns ill-formed UTF-8 into U+FFFD instead of
 * failing, and lets U+0000 through. MQTT 3.1.1 requires closing the connection on either ([MQTT-1.5.3-1],
 * [MQTT-1.5.3-2]); station topics are ASCII, so a U+FFFD can only come from bytes that were not UTF-8.
 */
export function closeOnIllFormedTopic(inner: AuthorizePublish): AuthorizePublish {
  return (client, packet, callback) => {
    if (/[\uFFFD\u0000]/.test(packet.topic)) callback(new Error('ill-formed UTF-8 in topic'));
    else inner(client, packet, callback);
  };
}

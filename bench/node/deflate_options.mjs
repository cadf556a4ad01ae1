// permessage-deflate for the Node ws servers that the benchmarks compare
// switchyard with: off unless asked for (ws's default on a server), and
// when asked, the options ws's README gives as its example of tuning it
// (zlib level 3, memLevel 7, a 10-bit server window, 10 zlib jobs at
// once), with the threshold set to switchyard's default (256 B, where the
// README's is 1 KiB) so that both compress the same messages. What a
// client asks (no context takeover) it gets.
export function perMessageDeflate(on) {
  if (!on) {
    return false;
  }
  return {
    zlibDeflateOptions: { chunkSize: 1024, memLevel: 7, level: 3 },
    zlibInflateOptions: { chunkSize: 10 * 1024 },
    serverMaxWindowBits: 10,
    concurrencyLimit: 10,
    threshold: 256,
  };
}

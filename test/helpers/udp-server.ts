/**
 * A UDP server on 127.0.0.1 that counts the datagrams reaching it. With `dns: true` it answers
 * every datagram as a DNS server would refuse a name (the query echoed back with QR set and
 * RCODE 3, NXDOMAIN), so resolvers get a quick ENOTFOUND instead of a timeout.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';

export interface UdpServer {
  readonly port: number;
  readonly datagrams: Buffer[];
  /** Resolves once `n` datagrams have arrived in total. */
  waitFor(n: number): Promise<void>;
  /** Resolves once a datagram with exactly this text has arrived. */
  waitForText(text: string): Promise<void>;
  close(): Promise<void>;
}

export async function startUdpServer(options: { dns?: boolean } = {}): Promise<UdpServer> {
  const socket = dgram.createSocket('udp4');
  const datagrams: Buffer[] = [];
  let waiters: Array<{ n: number; resolve: () => void }> = [];
  let textWaiters: Array<{ text: string; resolve: () => void }> = [];
  socket.on('message', (msg, from) => {
    datagrams.push(msg);
    if (options.dns && msg.length >= 12) {
      const reply = Buffer.from(msg);
      reply[2] = (reply[2] ?? 0) | 0x80;
      reply[3] = ((reply[3] ?? 0) & 0xf0) | 3;
      socket.send(reply, from.port, from.address);
    }
    textWaiters = textWaiters.filter((w) => {
      if (msg.toString() === w.text) w.resolve();
      return msg.toString() !== w.text;
    });
    waiters = waiters.filter((w) => {
      if (datagrams.length >= w.n) w.resolve();
      return datagrams.length < w.n;
    });
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    port: socket.address().port,
    datagrams,
    waitFor(n) {
      if (datagrams.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    waitForText(text) {
      if (datagrams.some((d) => d.toString() === text)) return Promise.resolve();
      return new Promise((resolve) => textWaiters.push({ text, resolve }));
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

// One guest TCP connection → tsgt on the host's loopback. qemu's user-mode
// network runs this per connection the guest opens to its guestfwd address
// (`guestfwd=tcp:10.0.2.100:3260-cmd:node relay.js 127.0.0.1 <port>`), with
// fds 0, 1 and 2 all being that connection: so nothing may ever be written
// to stdout or stderr here.
// Usage: node relay.js <host> <port>

import { Socket, connect } from 'node:net';

function relay(host: string, port: number): void {
  const guest = new Socket({ fd: 0, readable: true, writable: true });
  const target = connect({ host, port });
  guest.pipe(target);
  target.pipe(guest);
  const done = (): void => process.exit(0);
  guest.on('error', done);
  target.on('error', done);
  guest.on('close', done);
  target.on('close', done);
}

const [host, port] = process.argv.slice(2);
if (host !== undefined && Number(port) > 0) relay(host, Number(port));
else process.exit(2);

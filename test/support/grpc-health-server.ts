/** A grpc.health.v1 server for the gRPC probe tests, its messages as bytes: service "ready" answers SERVING (or
 * NOT_SERVING while the file given as the second argument exists), any other NOT_FOUND. Prints its port when up.
 *   node dist/test/support/grpc-health-server.js HOST PORT [NOT_SERVING_FLAG_FILE]   (run in a pod's netns with nsenter) */
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';

export function startHealthServer(host: string, notServing: () => boolean, port = 0): Promise<{ port: number; stop: () => void }> {
  const server = new grpc.Server();
  const raw = (b: Buffer): Buffer => b;
  const definition = { Check: { path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } };
  server.addService(definition as unknown as grpc.ServiceDefinition, {
    Check: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      if (call.request.subarray(2).toString() !== 'ready') return cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      cb(null, Buffer.from([0x08, notServing() ? 2 : 1]));
    },
  });
  return new Promise((resolve, reject) => server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve({ port, stop: () => server.forceShutdown() }))));
}

if (require.main === module) {
  const [host = '127.0.0.1', port = '0', flag] = process.argv.slice(2);
  void startHealthServer(host, () => !!flag && fs.existsSync(flag), Number(port)).then((s) => console.log(s.port));
}

// Starts s3rver on 127.0.0.1 for the end-to-end tests.
//   node s3rver.js DIR PORTFILE BUCKET...
// Serves buckets from DIR (created if missing; existing data is kept, so a
// killed server can be restarted over the same folder), writes the port it
// listens on to PORTFILE once ready. Credentials: S3RVER / S3RVER
// (signatures are checked when a request is signed).
'use strict';
const S3rver = require('s3rver');
const fs = require('fs');

const [dir, portFile, ...buckets] = process.argv.slice(2);
const port = Number(process.env.S3RVER_PORT || 0);
fs.mkdirSync(dir, { recursive: true });
const server = new S3rver({
  address: '127.0.0.1',
  port,
  silent: false,  // requests are logged: tests wait for them
  directory: dir,
  configureBuckets: buckets.map((name) => ({ name })),
});
server.run().then(
  ({ port: actual }) => {
    fs.writeFileSync(portFile + '.tmp', String(actual));
    fs.renameSync(portFile + '.tmp', portFile);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));

// Preloaded into the Etsy statsd daemon that the tests run: it calls util.log, which Node 23
// removed (deprecated since Node 6). The same one-line log lines, on the Node versions without it.
const util = require('node:util');
if (typeof util.log !== 'function') {
  util.log = (...args) => console.log(`${new Date().toISOString()} - ${util.format(...args)}`);
}

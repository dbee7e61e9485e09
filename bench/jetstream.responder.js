// The responder of `npm run bench:jetstream`: a child process with a loop and a connection of
// its own, like a host. Plain JavaScript, forked without tsx. Its one argument is JSON:
//   { url, mode, stream?, consumer?, tasks?, results, window? }
// mode 'core':     subscribes to `tasks`; per message (a JSON array of ids) publishes the array
//                  on `results`.
// mode 'consume':  the same over a durable pull consumer with `consume()`, acking each message;
//                  a message { id, yields } instead publishes `yields` results { id, index }.
// mode 'die':      takes one message with `next()`, publishes 3 of its results, flushes, says
//                  so to the parent and waits to be SIGKILLed, never acking.
// mode 'working':  takes one message { id, ms } with `next()`, works `ms` on timers, calling
//                  working() every `workingEvery` ms; then publishes its result and acks.
// mode 'blocked':  takes one message { id, ms } with `next()`, spins `ms` in a loop that cannot
//                  call working(); then publishes its result and acks.
// To the parent (IPC): { ready }, { delivered: id, count } for each delivery, { published }.
const { connect } = require('@nats-io/transport-node');
const { jetstream } = require('@nats-io/jetstream');

const options = JSON.parse(process.argv[2]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const send = (message) => process.send && process.send(message);

async function main() {
  const nc = await connect({ servers: options.url });
  const publish = (value) => nc.publish(options.results, encoder.encode(JSON.stringify(value)));

  if (options.mode === 'core') {
    nc.subscribe(options.tasks, { callback: (_error, msg) => publish(JSON.parse(decoder.decode(msg.data))) });
    await nc.flush();
    send({ ready: true });
    return;
  }

  const js = jetstream(nc);
  const consumer = await js.consumers.get(options.stream, options.consumer);

  if (options.mode === 'consume') {
    const messages = await consumer.consume({ max_messages: options.window ?? 256 });
    send({ ready: true });
    for await (const msg of messages) {
      const task = JSON.parse(decoder.decode(msg.data));
      if (Array.isArray(task)) {
        publish(task);
      } else {
        send({ delivered: task.id, count: msg.info.deliveryCount });
        for (let index = 0; index < (task.yields ?? 1); index++) publish({ id: task.id, index, by: process.pid });
      }
      msg.ack();
    }
    return;
  }

  send({ ready: true });
  let msg = null;
  while (!msg) msg = await consumer.next({ expires: 5_000 });
  const task = JSON.parse(decoder.decode(msg.data));
  send({ delivered: task.id, count: msg.info.deliveryCount });
  if (options.mode === 'die') {
    for (let index = 0; index < 3; index++) publish({ id: task.id, index, by: process.pid });
    await nc.flush();
    send({ published: 3 });
    setInterval(() => {}, 60_000); // waits for SIGKILL
    return;
  }
  if (options.mode === 'working') {
    const beat = setInterval(() => msg.working(), options.workingEvery);
    await new Promise((resolve) => setTimeout(resolve, task.ms));
    clearInterval(beat);
  } else if (options.mode === 'blocked') {
    await new Promise((resolve) => setTimeout(resolve, 20)); // lets the delivery reach the parent first
    const end = performance.now() + task.ms;
    while (performance.now() < end);
  }
  publish({ id: task.id, index: 0, by: process.pid });
  msg.ack();
  await nc.flush();
  send({ published: 1 });
  setInterval(() => {}, 60_000); // the parent stops it
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

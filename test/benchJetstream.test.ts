import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeWithNats } from './support/nats';

const execFileAsync = promisify(execFile);

/**
 * `npm run bench:jetstream` with tiny sizes and a short ack_wait: every line is printed, and
 * JetStream redelivers the streamed task whose responder was SIGKILLed, so results come twice.
 */
describeWithNats('benchmark of JetStream against core NATS', () => {
  it('prints every line, and a SIGKILLed streamed task comes back with results twice (2,000 tasks, ack_wait 1 s)', async () => {
    const { stdout } = await execFileAsync(process.execPath, [join(__dirname, '..', 'bench', 'jetstream.ts')], {
      env: { ...process.env, BENCH_TASKS: '2000', BENCH_SAMPLES: '50', BENCH_ACK_WAIT_MS: '1000' },
    });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toMatch(/^JetStream against core NATS: node v\d+\.\d+\.\d+, nats-server: v\d+\.\d+\.\d+, 2,000 tiny tasks per rate/);
    expect(lines[1]).toMatch(/^core NATS, 1 task per message: [\d,]+ tasks\/s$/);
    expect(lines[2]).toMatch(/^core NATS, 100 tasks per message: [\d,]+ tasks\/s$/);
    expect(lines[3]).toMatch(/^JetStream work queue, 1 task per message \(.*max_ack_pending 2,048\): [\d,]+ tasks\/s$/);
    expect(lines[4]).toMatch(/^JetStream work queue, 100 tasks per message \(.*max_ack_pending 21\): [\d,]+ tasks\/s$/);
    expect(lines[5]).toMatch(/^round trip, core NATS: p50 \d+\.\d{3} ms, p99 \d+\.\d{3} ms$/);
    expect(lines[6]).toMatch(/^round trip, JetStream: p50 \d+\.\d{3} ms, p99 \d+\.\d{3} ms$/);
    const redelivery = /^redelivery of a streamed task .*: redelivered \d+\.\d\d s after the first delivery .*, delivery (\d+); the producer received (\d+) result values, 5 distinct, (\d+) twice$/.exec(lines[7]!);
    expect(redelivery).not.toBeNull();
    expect(Number(redelivery![1])).toBeGreaterThan(1);
    expect(Number(redelivery![3])).toBeGreaterThan(0);
    expect(lines[8]).toMatch(/^long task .*, working\(\) every .*: not redelivered .*; 1 result value\(s\), 0 twice$/);
    expect(lines[9]).toMatch(/^long task .*, a blocked loop \(no working\(\)\): redelivered .*; \d+ result value\(s\), [1-9]\d* twice$/);
  }, 60_000);
});

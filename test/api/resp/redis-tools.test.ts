import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { RespServer } from '../../../src/api/resp/server.js';
import { startServer } from './resp-test-kit.js';
import { testNeeding } from '../../helpers/required-tool.js';
import { hasBinary, missingTool, redisBenchmarkWithoutErrors, run } from './redis-tools-kit.js';

/**
 * The real Redis tools against the RESP front end (over an in-memory fake KvService). They come from
 * the Debian package redis-tools (`apt-get install -y redis-tools`; .ci/run installs it); without
 * them these tests skip with a message, or fail in CI.
 */
const needCli = { ok: await hasBinary('redis-cli'), message: missingTool('redis-cli') };
const needBenchmark = { ok: await hasBinary('redis-benchmark'), message: missingTool('redis-benchmark') };
const needScript = { ok: await hasBinary('script'), message: 'script(1) not installed: no pseudo-terminal for interactive redis-cli (apt-get install -y bsdutils)' };
let server: RespServer;
let port: number;

before(async () => {
  ({ server, port } = await startServer());
});

after(async () => {
  await server.close();
});

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

testNeeding('redis-cli runs commands one per invocation', needCli, {}, async () => {
  assert.equal(await cli('PING'), 'PONG\n');
  assert.equal(await cli('SET', 'cli:k', 'hello world'), 'OK\n');
  assert.equal(await cli('GET', 'cli:k'), 'hello world\n');
  assert.equal(await cli('INCRBY', 'cli:n', '3'), '3\n');
  assert.equal(await cli('--no-raw', 'MGET', 'cli:k', 'cli:none'), '1) "hello world"\n2) (nil)\n');
  assert.match(await cli('INFO', 'cluster'), /ringkv_node_id:n1/);
  assert.match(await cli('-3', 'HELLO', '3'), /proto 3/);
  assert.equal(await cli('COMMAND', 'COUNT'), '22\n');
  assert.match(await cli('NOSUCHCMD', 'x'), /ERR unknown command 'NOSUCHCMD'/);
});

testNeeding('redis-cli reads commands from stdin and exits cleanly', needCli, {}, async () => {
  const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stdin.end('SET cli:pipe 1\nINCR cli:pipen\nGET cli:pipe\nDEL cli:pipe\nQUIT\n');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  // redis-cli ends at QUIT without printing its reply
  assert.equal(out, 'OK\n1\n1\n1\n');
});

testNeeding('redis-cli in interactive mode starts, runs commands and exits', [needCli, needScript], {}, async () => {
  // a pseudo-terminal through script(1); each line is typed once the answer to the previous one and
  // the next prompt have appeared, so linenoise reads them one at a time
  const child = spawn('script', ['-qc', `stty cols 100 rows 24; redis-cli -h 127.0.0.1 -p ${port}`, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  /** waits until the output written since `from` matches `expect` */
  const outputMatches = async (expect: RegExp, from: number, what: string): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (!expect.test(out.slice(from))) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`${what}: no ${expect} in the output: ${JSON.stringify(out.slice(from))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  const prompt = `127\\.0\\.0\\.1:${port}> `;
  /** types a line, then waits for its answer and the next prompt (a line typed earlier would be lost) */
  const type = async (line: string, answer: RegExp): Promise<void> => {
    const from = out.length;
    child.stdin.write(`${line}\r`);
    await outputMatches(new RegExp(`${answer.source}[\\s\\S]*${prompt}`), from, `after typing ${line}`);
  };
  try {
    await outputMatches(new RegExp(prompt), 0, 'the first prompt');
    await type('set cli:tty 42', /\r\nOK\r\n/);
    await type('get cli:tty', /"42"/);
    await type('dbsize', /\(integer\) \d+/);
    child.stdin.write('quit\r');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
  } finally {
    child.kill();
  }
});

testNeeding('redis-benchmark -t set,get,incr -n 20000 -c 50 completes without errors', needBenchmark, { timeout: 50_000 }, () =>
  redisBenchmarkWithoutErrors(port, ['set', 'get', 'incr'], 20_000, 50, 45_000),
);

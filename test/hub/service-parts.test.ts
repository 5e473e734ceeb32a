import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { eachLine, MAX_LINE_CHARS } from '../../src/hub/services/output-lines.js';
import { hubApiUrl, serviceEnvironment } from '../../src/hub/services/service-environment.js';

describe('service output lines', () => {
  it('splits chunks into lines, drops CRs of CRLF, cuts overlong lines and passes on a last unfinished line', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    eachLine(stream, (line) => lines.push(line));
    const ended = new Promise((resolve) => stream.on('end', resolve));
    stream.write('one\r\ntw');
    stream.write('o\nthree\n');
    stream.write('x'.repeat(MAX_LINE_CHARS + 10));
    stream.write('y'.repeat(100));
    stream.write('\nafter\nlast');
    stream.end();
    await ended;
    expect(lines).toEqual(['one', 'two', 'three', `${'x'.repeat(MAX_LINE_CHARS)} [line cut at ${MAX_LINE_CHARS} characters]`, 'after', 'last']);
  });
});

describe('service environment', () => {
  it('reaches a hub listening everywhere on loopback, IPv6 in brackets, with no trailing slash', () => {
    expect(hubApiUrl('127.0.0.1', 8000)).toBe('http://127.0.0.1:8000/hub/api');
    expect(hubApiUrl('0.0.0.0', 8000)).toBe('http://127.0.0.1:8000/hub/api');
    expect(hubApiUrl('[::]', 8000)).toBe('http://[::1]:8000/hub/api');
    expect(hubApiUrl('::1', 8001)).toBe('http://[::1]:8001/hub/api');
    expect(hubApiUrl('[::1]', 8001)).toBe('http://[::1]:8001/hub/api');
  });

  it('keeps only what finds programs and the locale from the hub, and JUPYTERHUB_* always from the hub', () => {
    const env = serviceEnvironment(
      { name: 'svc', api_token: undefined, command: ['x'], environment: { MY_SETTING: '1', PATH: '/opt/svc/bin' }, cwd: undefined },
      { token: 'tok', apiUrl: 'http://127.0.0.1:1/hub/api' },
      { PATH: '/usr/bin', LANG: 'C.UTF-8', AWS_SECRET_ACCESS_KEY: 'hub-only', HOME: '/root' },
    );
    expect(env).toEqual({
      PATH: '/opt/svc/bin',
      LANG: 'C.UTF-8',
      MY_SETTING: '1',
      JUPYTERHUB_SERVICE_NAME: 'svc',
      JUPYTERHUB_API_TOKEN: 'tok',
      JUPYTERHUB_API_URL: 'http://127.0.0.1:1/hub/api',
      JUPYTERHUB_BASE_URL: '/',
    });
  });
});

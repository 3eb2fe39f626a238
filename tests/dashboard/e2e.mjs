// e2e.mjs: drives the dashboard page in headless chromium (playwright-core)
// against a running jobqd that requires a token. Started by run.sh, which
// passes: JQ_BASE_URL, JQ_TOKEN, JQ_CHROMIUM, JQ_PW_DIR (where
// playwright-core is installed), JQ_ARTIFACTS (screenshots go there).
// Exits 0 when every check passed; prints what failed otherwise.
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const BASE = env('JQ_BASE_URL');
const TOKEN = env('JQ_TOKEN');
const ARTIFACTS = env('JQ_ARTIFACTS');
const require = createRequire(path.join(env('JQ_PW_DIR'), 'package.json'));
const { chromium } = require('playwright-core');

const DEADLINE_MS = 100000;
const started = Date.now();
let browser = null;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

function step(what) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);
}

// The REST API, from the test's side, with the token.
async function rest(method, urlPath, body) {
  const headers = { Authorization: `Bearer ${TOKEN}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(BASE + urlPath, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${urlPath}: ${r.status} ${text}`);
  return JSON.parse(text);
}

async function submit(command, extra = {}) {
  const job = await rest('POST', '/v1/jobs', { command, ...extra });
  return job.id;
}

async function until(what, fn, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The state badge of job `id` in the list, or null if the row is not shown.
function rowState(page, id) {
  return page.evaluate((jid) => {
    const tr = document.querySelector(`#jobs-body tr[data-id="${jid}"]`);
    return tr ? tr.querySelector('.badge').textContent : null;
  }, id);
}

function shownIds(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('#jobs-body tr[data-id]'), (tr) => Number(tr.dataset.id)));
}

function detailState(page) {
  return page.evaluate(() => {
    const b = document.querySelector('#detail-title .badge');
    return b && !document.getElementById('detail').classList.contains('hidden') ? b.textContent : null;
  });
}

function noHorizontalScroll(page) {
  return page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
}

async function main() {
  const problems = [];
  const args = ['--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'];
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  browser = await chromium.launch({ executablePath: env('JQ_CHROMIUM'), headless: true, args, timeout: 30000 });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // 401s while the page has no token are expected and logged by chromium.
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console error: ${m.text()}`);
  });

  const done = await submit(['sh', '-c', 'echo hello-dashboard; echo to-stderr >&2; exit 3']);
  const hostile = await submit(['sh', '-c', 'printf "<img id=injected src=x onerror=alert(1)>"']);
  step(`submitted jobs ${done} and ${hostile}`);

  // The page is served without the token and asks for it on the API's 401.
  const resp = await page.goto(BASE + '/');
  check(resp.status() === 200, 'GET / answers 200 without a token');
  check(/default-src 'none'/.test(resp.headers()['content-security-policy'] || ''), 'GET / has the CSP');
  await page.locator('#token-input').waitFor({ state: 'visible' });
  step('token prompt shown');
  await page.fill('#token-input', 'not-the-token');
  await page.click('#token-form button[type=submit]');
  await until('the refusal message', async () => /refused/.test(await page.textContent('#token-msg'))
    && await page.isVisible('#token-input'));
  step('wrong token refused');
  await page.fill('#token-input', TOKEN);
  await page.click('#token-form button[type=submit]');
  await page.locator('#token-panel').waitFor({ state: 'hidden' });
  check(await page.evaluate(() => sessionStorage.getItem('jobq.token')) === TOKEN, 'token kept in sessionStorage');
  check(await page.evaluate(() => localStorage.length) === 0, 'nothing in localStorage');
  check(await page.isVisible('#forget-btn'), 'forget button shown');

  // The submitted job appears and finishes.
  await until(`job ${done} failed (exit 3) in the list`, async () => (await rowState(page, done)) === 'failed');
  step(`job ${done} shown as failed`);
  const counts = await page.evaluate(() => Object.fromEntries(Array.from(
    document.querySelectorAll('#state-cards .card'), (c) => [c.querySelector('dt').textContent, c.querySelector('dd').textContent])));
  check(counts.failed === '1', `state card failed = 1 (got ${JSON.stringify(counts)})`);
  const workers = await page.textContent('#worker-cards');
  check(/workers configured2/.test(workers) && /workers alive2/.test(workers), `worker cards (${workers})`);

  // Its detail: command, exit code, output.
  await page.click(`#jobs-body tr[data-id="${done}"] button`);
  await until('stdout in the detail view', async () =>
    (await page.locator('#detail-stdout').textContent().catch(() => '')) === 'hello-dashboard\n');
  check((await page.textContent('#detail-stderr')) === 'to-stderr\n', 'stderr in the detail view');
  const fields = await page.textContent('#detail-fields');
  check(fields.includes("sh -c 'echo hello-dashboard; echo to-stderr >&2; exit 3'"), `command shown (${fields})`);
  check(/exit code3/.test(fields), `exit code shown (${fields})`);
  check(await page.evaluate(() => location.hash) === `#job=${done}`, 'location hash names the job');
  step(`job ${done} detail read`);

  // Job data is text, never markup.
  await page.click(`#jobs-body tr[data-id="${hostile}"] button`);
  await until('the hostile output', async () =>
    (await page.locator('#detail-stdout').textContent().catch(() => '')).startsWith('<img id=injected'));
  check(await page.evaluate(() => document.getElementById('injected') === null), 'job output is not parsed as HTML');

  // Cancel a running job with the button.
  const sleeper = await submit(['sleep', '30'], { timeout_ms: 60000 });
  await until(`job ${sleeper} running in the list`, async () => (await rowState(page, sleeper)) === 'running');
  await page.click(`#jobs-body tr[data-id="${sleeper}"] button`);
  await until('the detail of the running job', async () => (await detailState(page)) === 'running');
  await page.click('#cancel-btn');
  await until(`job ${sleeper} cancelled in the detail`, async () => (await detailState(page)) === 'cancelled');
  await until(`job ${sleeper} cancelled in the list`, async () => (await rowState(page, sleeper)) === 'cancelled');
  check(!(await page.isVisible('#cancel-btn')), 'no cancel button on a finished job');
  const cancelled = await rest('GET', `/v1/jobs/${sleeper}`);
  check(cancelled.state === 'cancelled' && cancelled.kill_reason === 'cancel', `server says cancelled (${cancelled.state})`);
  step(`job ${sleeper} cancelled from the page`);

  // Newest first, paging backwards and forwards, the state filter.
  const batch = await rest('POST', '/v1/jobs', { jobs: Array.from({ length: 30 }, (_, i) => ({ command: ['echo', `n${i}`] })) });
  const lastId = batch.jobs[batch.jobs.length - 1].id;
  await until('the batch listed', async () => (await shownIds(page))[0] === lastId);
  let ids = await shownIds(page);
  check(ids.length === 25, `25 jobs on a page (got ${ids.length})`);
  check(ids.every((id, i) => i === 0 || id === ids[i - 1] - 1), `newest first, consecutive (${ids})`);
  await page.click('#older-btn');
  await until('the older page', async () => (await shownIds(page))[0] === ids[24] - 1);
  const older = await shownIds(page);
  check(older[older.length - 1] === 1 && older.length === ids[24] - 1, `older page reaches job 1 (${older})`);
  check(await page.isDisabled('#older-btn'), 'no page older than the oldest');
  await page.click('#newer-btn');
  await until('back to the newest page', async () => (await shownIds(page))[0] === lastId);
  await page.selectOption('#state-filter', 'cancelled');
  await until('only cancelled jobs', async () => (await shownIds(page)).join() === String(sleeper));
  await page.selectOption('#state-filter', '');
  await until('the unfiltered list', async () => (await shownIds(page))[0] === lastId);
  step('paging and filter work');

  // Screenshots: wide with a job's detail open, and narrow.
  await page.goto(`${BASE}/#job=${done}`);
  await until('detail of the first job', async () =>
    (await page.locator('#detail-stdout').textContent().catch(() => '')) === 'hello-dashboard\n');
  await page.mouse.move(0, 0);
  const wide = path.join(ARTIFACTS, 'dashboard.png');
  await page.screenshot({ path: wide, fullPage: true });
  console.log(`screenshot: ${wide}`);

  await page.setViewportSize({ width: 375, height: 700 });
  await page.waitForTimeout(300);
  let w = await noHorizontalScroll(page);
  check(w.scroll <= w.client, `no horizontal scrolling at 375 px with the detail open (${w.scroll} > ${w.client})`);
  const narrow = path.join(ARTIFACTS, 'dashboard-narrow.png');
  await page.screenshot({ path: narrow, fullPage: true });
  console.log(`screenshot: ${narrow}`);
  await page.click('#close-btn');
  w = await noHorizontalScroll(page);
  check(w.scroll <= w.client, `no horizontal scrolling at 375 px (${w.scroll} > ${w.client})`);
  step('narrow viewport fits');

  // Forgetting the token asks for it again.
  await page.click('#forget-btn');
  await page.locator('#token-input').waitFor({ state: 'visible' });
  check(await page.evaluate(() => sessionStorage.getItem('jobq.token')) === null, 'token forgotten');
  check(await page.isHidden('#forget-btn'), 'forget button hidden without a token');
  step('token forgotten');

  check(problems.length === 0, problems.join('; '));
}

const killer = setTimeout(() => {
  console.error(`e2e: gave up after ${DEADLINE_MS / 1000} s`);
  process.exit(1);
}, DEADLINE_MS);

let status = 0;
try {
  await main();
  console.log('e2e: all checks passed');
} catch (e) {
  console.error(`e2e: ${e && e.stack || e}`);
  status = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  clearTimeout(killer);
}
process.exit(status);

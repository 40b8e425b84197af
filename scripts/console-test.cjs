// The console page, driven in headless Chromium through playwright-core. Run by
// scripts/console-test.sh, which installs both and starts the stack (AIRLOCK, TOKEN).
// Drops a clean CSV and a disguised executable (ELF bytes named .png, declared
// image/png) on the page, waits for CLEAN and REJECTED (with the reason), checks the
// event log and the usage counters, downloads the clean file and compares its bytes,
// then drops a 12 MiB file that goes in parts (the stack is started with an 8 MiB
// threshold) and checks its progress bar reaches 100 % and it turns CLEAN; saves a
// screenshot to target/artifacts/console.png.
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const { chromium } = require(path.join(root, ".playwright/node_modules/playwright-core"));

const base = process.env.AIRLOCK;
const token = process.env.TOKEN;
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const artifact = path.join(root, "target/artifacts/console.png");
const TIMEOUT = 15000;

const clean = Buffer.from("id,name\n1,alice\n2,bob\n");
// The first bytes of a real executable: whatever node runs as is an ELF binary.
const elf = fs.readFileSync("/proc/self/exe").subarray(0, 64);

let passed = 0;
async function check(name, body) {
  await body();
  passed += 1;
  console.log(`console test: ok - ${name}`);
}

async function main() {
  if (!base || !token) throw new Error("AIRLOCK and TOKEN must be set (scripts/with-stack.sh does)");
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 800 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  try {
    await run(page, problems);
  } finally {
    fs.mkdirSync(path.dirname(artifact), { recursive: true });
    await page.screenshot({ path: artifact, fullPage: true }).catch(() => {});
    console.log(`console test: screenshot ${path.relative(root, artifact)}`);
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

async function run(page, problems) {
  await check("the page loads with the token from the fragment", async () => {
    await page.goto(`${base}/#token=${token}`);
    await page.locator("#tenant").filter({ hasText: "tenant demo" }).waitFor({ timeout: TIMEOUT });
    if (page.url().includes("token=")) throw new Error("the token stayed in the address bar");
  });

  await check("two files dropped on the page are uploaded", async () => {
    const files = [
      { name: "people.csv", type: "text/csv", b64: clean.toString("base64") },
      { name: "cat.png", type: "image/png", b64: elf.toString("base64") },
    ];
    const dataTransfer = await page.evaluateHandle((files) => {
      const dt = new DataTransfer();
      for (const f of files) {
        const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
        dt.items.add(new File([bytes], f.name, { type: f.type }));
      }
      return dt;
    }, files);
    await page.dispatchEvent("#drop", "drop", { dataTransfer });
  });

  await check("the clean file turns CLEAN", async () => {
    await page.locator('tr[data-name="people.csv"] .status.CLEAN').waitFor({ timeout: TIMEOUT });
  });

  await check("the disguised executable turns REJECTED with its reason", async () => {
    const row = page.locator('tr[data-name="cat.png"]');
    await row.locator(".status.REJECTED").waitFor({ timeout: TIMEOUT });
    const reason = await row.locator(".reason").innerText();
    if (!reason.includes("type_mismatch") || !reason.includes("image/png")) {
      throw new Error(`reason shown: ${JSON.stringify(reason)}`);
    }
    if ((await row.locator("button[data-download]").count()) !== 0) {
      throw new Error("a rejected file offers a download");
    }
  });

  await check("the event log shows both verdicts", async () => {
    await page.locator("#events li", { hasText: "File Accepted" }).waitFor({ timeout: TIMEOUT });
    await page.locator("#events li", { hasText: "File Rejected" }).waitFor({ timeout: TIMEOUT });
  });

  await check("the usage counters count them", async () => {
    await page.waitForFunction(() => {
      const files = (status) => Number(document.querySelector(`#usage tr[data-status="${status}"] td:nth-child(2)`)?.textContent);
      return files("CLEAN") >= 1 && files("REJECTED") >= 1;
    }, null, { timeout: TIMEOUT });
  });

  await check("the clean file downloads with the same bytes", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: TIMEOUT }),
      page.click('tr[data-name="people.csv"] button[data-download]'),
    ]);
    const back = fs.readFileSync(await download.path());
    if (!back.equals(clean)) throw new Error(`downloaded ${back.length} bytes that differ from the upload`);
    if (download.suggestedFilename() !== "people.csv") {
      throw new Error(`suggested name ${download.suggestedFilename()}`);
    }
  });

  await check("a file past the threshold goes in parts with a progress bar to 100 %", async () => {
    await page.evaluate(() => {
      const line = "id,reading\n1,42\n";
      const text = line.repeat(Math.ceil((12 * 1048576) / line.length)).slice(0, 12 * 1048576);
      const dt = new DataTransfer();
      dt.items.add(new File([text], "readings.csv", { type: "text/csv" }));
      document.getElementById("drop").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    const row = page.locator('tr[data-name="readings.csv"]');
    await row.locator("td.progress .percent", { hasText: "100 %" }).waitFor({ timeout: TIMEOUT });
    await row.locator(".status.CLEAN").waitFor({ timeout: TIMEOUT });
    const message = await page.locator("#message").innerText();
    if (!message.includes("in 3 parts")) throw new Error(`message shown: ${JSON.stringify(message)}`);
    const shown = await row.locator("td.progress").innerText();
    if (!shown.includes("12.0 MiB of 12.0 MiB")) throw new Error(`progress shown: ${JSON.stringify(shown)}`);
  });

  await check("the page raised no script errors", async () => {
    if (problems.length) throw new Error(problems.join("; "));
  });
}

main().then(
  () => {
    console.log(`console: ${passed} passed, 0 failed`);
  },
  (error) => {
    console.error(`console test: FAILED after ${passed} checks: ${error.stack || error}`);
    console.log(`console: ${passed} passed, 1 failed`);
    process.exit(1);
  },
);

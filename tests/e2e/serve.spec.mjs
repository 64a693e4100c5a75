// `cargo xtask serve` stops its servers on SIGTERM, not only on Ctrl-C: a
// supervisor or `timeout` that stops xtask must not leave the OMS and the
// bridge running as orphans holding their ports.
import { test, expect } from "@playwright/test";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { signIn, openShift, MANAGER_PIN } from "./helpers.mjs";
import { join } from "node:path";

const xtask = process.env.TILL_XTASK;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function answers(url) {
  try {
    return (await fetch(url)).status;
  } catch {
    return "refused";
  }
}

/// `cargo xtask serve` on free ports and a fresh data folder; `output()`
/// is what it has printed so far.
async function startServe() {
  const [port, bridgePort] = [await freePort(), await freePort()];
  const data = mkdtempSync(join(tmpdir(), "till-serve-"));
  const child = spawn(xtask, ["serve", "--no-build", "--debug-servers", "--port", `${port}`, "--bridge-port", `${bridgePort}`, "--data", data], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout.on("data", (d) => (text += d));
  child.stderr.on("data", (d) => (text += d));
  // "close", not "exit": it comes after the last output has been read.
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  return { port, bridgePort, data, child, exited, output: () => text };
}

test("a SIGTERM to xtask serve stops the OMS and the bridge", async () => {
  test.skip(!xtask, "TILL_XTASK is set by cargo xtask test");
  test.setTimeout(120_000);
  const { port, bridgePort, data, child, exited, output } = await startServe();
  try {
    // The whole greeting has been printed (and the short command it runs
    // to read the pairing code has ended) when its last line has.
    await expect.poll(output, { timeout: 60_000 }).toContain("Stop with Ctrl-C");
    expect(await answers(`http://127.0.0.1:${port}/api/v1/health`)).toBe(200);
    expect(await answers(`http://127.0.0.1:${bridgePort}/v1/health`)).toBe(401);
    expect(output()).toContain("development values");
    // Tokens reach the servers through their environment: `ps` shows every
    // user of the machine the command lines, never a token.
    const lines = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l.includes(data) && /till-(oms|bridge)/.test(l));
    expect(lines.length, lines.join("\n")).toBe(2);
    for (const token of ["dev-register-token", "dev-bridge-token", "dev-pairing-token", "dev-back-office-token"]) {
      expect(lines.join("\n")).not.toContain(token);
    }

    child.kill("SIGTERM");
    const { code } = await exited;
    expect(code, output()).toBe(0);
    expect(output()).toContain("Till stopped.");
    expect(await answers(`http://127.0.0.1:${port}/api/v1/health`)).toBe("refused");
    expect(await answers(`http://127.0.0.1:${bridgePort}/v1/health`)).toBe("refused");
  } finally {
    child.kill("SIGKILL");
    rmSync(data, { recursive: true, force: true });
  }
});

test("the one-time setup link xtask serve prints opens a register set up and paired", async ({ page }) => {
  test.skip(!xtask, "TILL_XTASK is set by cargo xtask test");
  test.setTimeout(120_000);
  const { data, child, exited, output } = await startServe();
  try {
    // The whole greeting, link and QR code included, has been printed
    // when its last line has (output arrives in chunks).
    await expect.poll(output, { timeout: 60_000 }).toContain("Stop with Ctrl-C");
    const link = output().match(/(http:\/\/127\.0\.0\.1:\d+\/#setup=\S+)/)?.[1];
    expect(link, output()).toBeTruthy();
    // A QR code of the same link follows it (block characters).
    expect(output()).toMatch(/[▀▄█]{10,}/);
    page.on("dialog", (d) => d.accept());
    await page.goto(link);
    // Nothing typed: the link set the register up and paired it.
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible({ timeout: 15_000 });
    expect(new URL(page.url()).hash, "the token left the address bar").toBe("");
    await signIn(page, "Dana", MANAGER_PIN);
    await openShift(page, "100.00");
    await expect(page.getByRole("status", { name: "Status" })).toContainText("Bridge: connected", { timeout: 30_000 });
    const paired = execFileSync(process.env.TILL_BRIDGE_BIN ?? "target/debug/till-bridge", ["--data", join(data, "bridge"), "pairings", "list"], { encoding: "utf8" });
    // R1 is configured by token on loopback: the link enrolled the next.
    expect(paired).toMatch(/^p-\w+\s+R2\s.*paired$/m);
  } finally {
    // xtask stops its servers on SIGTERM; then it is gone.
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    child.kill("SIGKILL");
    rmSync(data, { recursive: true, force: true });
  }
});

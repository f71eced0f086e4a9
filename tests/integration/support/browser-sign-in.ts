import type { Page } from "playwright-core";

/**
 * Signs `user` in at the local OpenID provider (its development login: any password, then consent) from a
 * page the app has sent there, and returns once the browser is back on `appOrigin`. Each submit waits for
 * the next document to load: waiting only for the current page's load state could look again before the
 * navigation started, find the app's page without a submit button, and wait for one forever.
 */
export async function signInAtProvider(page: Page, user: string, appOrigin: string): Promise<void> {
  for (let step = 0; step < 6 && !page.url().startsWith(appOrigin); step++) {
    await failOnErrorPage(page, user);
    const login = page.locator('input[name="login"]');
    if (await login.count()) {
      await login.fill(user);
      await page.locator('input[name="password"]').fill("any");
    }
    await Promise.all([page.waitForEvent("load"), page.locator('button[type="submit"]').first().click()]);
  }
  await failOnErrorPage(page, user);
  if (!page.url().startsWith(appOrigin)) throw new Error(`signing ${user} in ended at ${page.url()}`);
}

/**
 * A navigation that failed (a form post aborted with net::ERR_NETWORK_CHANGED when a pod's interface came
 * or went) leaves Chromium on its own error page, which has no submit button: waiting for one there ran
 * into the 30 s timeout (CI, 2026-12-05) with nothing saying why. Names the error instead, so the failure
 * says where it stopped and retryingNetworkChange can run the scenario again.
 */
async function failOnErrorPage(page: Page, user: string): Promise<void> {
  if (!page.url().startsWith("chrome-error://")) return;
  const code = /ERR_[A-Z_]+/.exec(await page.content())?.[0] ?? "an unknown error";
  throw new Error(`signing ${user} in: a navigation failed with net::${code}`);
}

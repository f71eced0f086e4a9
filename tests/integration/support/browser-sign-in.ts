import type { Page } from "playwright-core";

/**
 * Signs `user` in at the local OpenID provider (its development login: any password, then consent) from a
 * page the app has sent there, and returns once the browser is back on `appOrigin`. Each submit waits for
 * the next document to load: waiting only for the current page's load state could look again before the
 * navigation started, find the app's page without a submit button, and wait for one forever.
 */
export async function signInAtProvider(page: Page, user: string, appOrigin: string): Promise<void> {
  for (let step = 0; step < 6 && !page.url().startsWith(appOrigin); step++) {
    const login = page.locator('input[name="login"]');
    if (await login.count()) {
      await login.fill(user);
      await page.locator('input[name="password"]').fill("any");
    }
    await Promise.all([page.waitForEvent("load"), page.locator('button[type="submit"]').first().click()]);
  }
  if (!page.url().startsWith(appOrigin)) throw new Error(`signing ${user} in ended at ${page.url()}`);
}

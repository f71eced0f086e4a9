import { findChromium } from "../../../controller/accessibility/browser-tier.ts";

/**
 * The Chromium the scanner tests drive. `npm test` installs Debian's package before the run, so a missing
 * browser is a broken setup, reported as a failure rather than skipped into a silent pass.
 */
export function requireChromium(): string {
  const path = findChromium(process.env.GOVHOST_CHROMIUM);
  if (!path)
    throw new Error(
      "Chromium not found (GOVHOST_CHROMIUM, /usr/bin/chromium): run `bash tools/ensure-system-packages.sh chromium`, as npm test does",
    );
  return path;
}

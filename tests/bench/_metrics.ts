/**
 * One scrape of a process's Prometheus /metrics: a lookup of a series' value by its name and labels as
 * written (e.g. `govhost_reconcile_duration_seconds_count{controller="department"}`), undefined when the
 * series is absent. Rejects when the endpoint does not answer.
 */
export async function scrape(url: string): Promise<(series: string) => number | undefined> {
  const text = await (await fetch(url)).text();
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    if (space > 0) values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return (series) => values.get(series);
}

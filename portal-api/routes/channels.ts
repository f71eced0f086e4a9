import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { labels } from "../../controller/api/group.ts";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import {
  ChannelCounts,
  type ChannelMonths,
  channelNames,
  channelsStoreData,
  channelsStoreName,
  oldestKeptMonth,
  otherChannelTotal,
  readChannelsStore,
  withChannelReport,
} from "../../lib/performance/channel-store.ts";
import { readStore, StoreUnreadable, updateStore } from "../api-store.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { problems } from "../problem.ts";
import { environmentNamespace } from "./common.ts";
import { json, Nullable, ResourcePeriodParams, responses } from "./schemas.ts";

// A department's report of the transactions its other channels (counter, phone, post, email, other) made
// for an e-service in a month: what digital take-up is measured against (docs/performance.md, "Digital
// take-up"). Reported by the department's developers and admins; each report is an audited write.

const ChannelsBody = Type.Object(
  {
    channels: Type.Object(ChannelCounts.properties, {
      additionalProperties: false,
      minProperties: 1,
      description: `The month's completed transactions through each channel other than the e-service (${channelNames.join(", ")}); a channel left out counts 0. Replaces the month's earlier report.`,
    }),
  },
  { additionalProperties: false },
);

const ChannelsView = Type.Object({
  department: Type.String(),
  environment: Type.String(),
  eservice: Type.String(),
  period: Type.String({ description: "Calendar month, YYYY-MM" }),
  channels: ChannelCounts,
  totalTransactions: Type.Integer({ description: "The channels together" }),
  reportedAt: Nullable(Type.String({ format: "date-time" })),
});

export function channelRoutes(deps: ApiDependencies): FastifyPluginAsyncTypebox {
  return async (app) => {
    const path = "/departments/:dept/environments/:env/eservices/:name/other-channels/:period";
    const readMonths = async (dept: string): Promise<ChannelMonths> => {
      try {
        return await readStore(deps.kube, channelsStoreName(dept), readChannelsStore);
      } catch (error) {
        if (error instanceof StoreUnreadable) throw problems.trafficUnavailable(dept, error.message);
        throw error;
      }
    };

    app.get(
      path,
      {
        schema: {
          tags: ["eservices"],
          summary:
            "The transactions the department reported through its other channels for an e-service and month (all 0 and reportedAt null when not reported)",
          params: ResourcePeriodParams,
          response: responses(
            { 200: json("The month's report", ChannelsView) },
            [400, 401, 403, 404, 429, 500, 503],
          ),
        },
      },
      async (request) => {
        const { dept, env, namespace } = await environmentNamespace(deps, request, "eservice:read");
        const { name, period } = request.params;
        if (!(await deps.reads.eservice(namespace, name)))
          throw problems.notFound(`EService ${name} does not exist in ${namespace}`);
        const report = (await readMonths(dept))[period]?.[`${namespace}/${name}`];
        const channels = report?.channels ?? {};
        return {
          department: dept,
          environment: env,
          eservice: name,
          period,
          channels,
          totalTransactions: otherChannelTotal(channels),
          reportedAt: report?.reportedAt ?? null,
        };
      },
    );

    app.put(
      path,
      {
        schema: {
          tags: ["eservices"],
          summary:
            "Report the transactions the department's other channels made for an e-service in a month (the other half of digital take-up); replaces the month's earlier report",
          params: ResourcePeriodParams,
          body: ChannelsBody,
          response: responses(
            { 200: json("The month's report as stored", ChannelsView) },
            [400, 401, 403, 404, 413, 415, 422, 429, 500, 503],
          ),
        },
      },
      async (request) => {
        const { dept, env, namespace } = await environmentNamespace(deps, request, "eservice:write");
        const { name, period } = request.params;
        const now = Date.now();
        const currentMonth = periodOf(now, deps.timeZone);
        if (period > currentMonth)
          throw problems.unprocessable(
            `${period} has not begun (the current month is ${currentMonth}); a month's transactions are reported once they are made`,
            "period",
            `Report a month up to ${currentMonth}`,
          );
        const oldest = oldestKeptMonth(currentMonth);
        if (period < oldest)
          throw problems.unprocessable(
            `${period} is older than the months kept (from ${oldest})`,
            "period",
            `Report a month from ${oldest} to ${currentMonth}`,
          );
        if (!(await deps.reads.eservice(namespace, name)))
          throw problems.notFound(`EService ${name} does not exist in ${namespace}`);
        const eservice = `${namespace}/${name}`;
        const report = { channels: request.body.channels, reportedAt: new Date(now).toISOString() };
        let before: ChannelMonths;
        try {
          before = await updateStore(
            deps.kube,
            channelsStoreName(dept),
            { [labels.department]: dept },
            readChannelsStore,
            (months) => ({
              data: channelsStoreData(
                withChannelReport(months, { month: period, eservice, report, currentMonth }),
              ),
            }),
          );
        } catch (error) {
          if (error instanceof StoreUnreadable) throw problems.trafficUnavailable(dept, error.message);
          throw error;
        }
        request.audit = {
          action: "eservice.report-other-channels",
          target: { kind: "EService", name, department: dept, namespace },
          before: before[period]?.[eservice]?.channels ?? null,
          after: report.channels,
        };
        return {
          department: dept,
          environment: env,
          eservice: name,
          period,
          channels: report.channels,
          totalTransactions: otherChannelTotal(report.channels),
          reportedAt: report.reportedAt,
        };
      },
    );
  };
}

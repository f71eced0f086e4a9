import type { NotMeasuredCode } from "../../lib/performance/report.ts";
import type { LocalisedName } from "../eservice-directory.ts";

// The pages' two languages: English at the site's root, Traditional Chinese under /zh-Hant. Every message a
// page shows is here in both; dates and numbers are formatted per locale by Intl.

export const locales = ["en", "zh-Hant"] as const;
export type Locale = (typeof locales)[number];

/** The path of a page in a locale: English at the root, Traditional Chinese under /zh-Hant. */
export function localePath(locale: Locale, path: string): string {
  if (locale === "en") return path;
  return path === "/" ? "/zh-Hant" : `/zh-Hant${path}`;
}

export const otherLocale = (locale: Locale): Locale => (locale === "en" ? "zh-Hant" : "en");

/** A name in the page's language. */
export const localised = (name: LocalisedName, locale: Locale): string =>
  locale === "en" ? name.en : name.zhHant;

/** Service clusters the platform knows by name; others are shown by their identifier. */
const clusterNames: Record<string, LocalisedName> = {
  "business-and-trade": { en: "Business and trade", zhHant: "工商業" },
  "culture-and-leisure": { en: "Culture, recreation and sport", zhHant: "文化、康樂及體育" },
  education: { en: "Education", zhHant: "教育" },
  employment: { en: "Employment", zhHant: "就業" },
  environment: { en: "Environment", zhHant: "環境" },
  health: { en: "Health", zhHant: "衞生" },
  housing: { en: "Housing", zhHant: "房屋" },
  "law-and-security": { en: "Law and security", zhHant: "法律及治安" },
  "social-welfare": { en: "Social welfare", zhHant: "社會福利" },
  "taxes-and-finance": { en: "Taxes and finance", zhHant: "稅務及財務" },
  transport: { en: "Transport", zhHant: "運輸" },
  "travel-and-immigration": { en: "Travel and immigration", zhHant: "旅遊及入境" },
  other: { en: "Other services", zhHant: "其他服務" },
};

export const clusterName = (cluster: string, locale: Locale): string => {
  const known = clusterNames[cluster];
  return known ? localised(known, locale) : cluster;
};

const messages = {
  en: {
    siteName: "Government e-services",
    skipLink: "Skip to main content",
    languageSwitch: "繁體中文",
    languageSwitchLabel: "Read this page in Traditional Chinese",
    officialSite: "An official website of the government",
    catalogueTitle: "Government e-services",
    catalogueIntro:
      "Find an e-service by what you need to do. Every service listed here meets the accessibility standard shown on its page.",
    searchLabel: "Search e-services",
    searchButton: "Search",
    searchResults: (count: number, query: string) =>
      `${count === 1 ? "1 e-service" : `${new Intl.NumberFormat("en").format(count)} e-services`} found for “${query}”`,
    clearSearch: "Show all e-services",
    noServices: "No e-services are published yet.",
    noResults: "No e-service matches your search. Try other words, or browse all e-services.",
    servicesInCluster: (count: number) => (count === 1 ? "1 e-service" : `${count} e-services`),
    clustersNav: "Service clusters",
    department: "Department",
    cluster: "Service cluster",
    address: "Address",
    standard: "Accessibility standard",
    lastScan: "Last accessibility check",
    notScanned: "Not recorded",
    availability: "Availability",
    availabilityIn: (percent: string, month: string) =>
      `${percent} of the platform's checks answered in ${month}`,
    satisfaction: "Satisfaction",
    satisfactionIn: (percent: string, ratings: number, month: string) =>
      `${percent} of ${ratings === 1 ? "1 rating" : `${ratings} ratings`} satisfied or very satisfied in ${month}`,
    notMeasured: "Not measured yet",
    useService: "Use this e-service",
    backToCatalogue: "All e-services",
    notFoundTitle: "Page not found",
    notFoundText: "There is no published e-service at this address. It may have been withdrawn or renamed.",
    footer: "Hosted on the government private cloud (govhost).",
    signIn: "Sign in",
    signOut: "Sign out",
    signedInAs: (name: string) => `Signed in as ${name}`,
    signInExpired: "Sign-in expired",
    signInExpiredText: "The sign-in took too long or was started in another browser. Please sign in again.",
    signInFailed: "Sign-in failed",
    signInFailedText: "The identity provider's answer could not be accepted. Please sign in again.",
    myDepartmentsTitle: "Your departments",
    noDepartments: "You are not in any department's groups.",
    forbiddenTitle: "Not allowed",
    forbiddenText: "You do not have access to this department's pages.",
    loadFailedTitle: "Something went wrong",
    loadFailedText: "The page could not be loaded. Please try again later.",
    status: "Status",
    environments: "Environments",
    quotaTitle: "Quota across all environments",
    resource: "Resource",
    used: "Used",
    limit: "Limit",
    share: "Share used",
    eservicesIn: (environment: string) => `E-services in ${environment}`,
    noEServices: "No e-services.",
    eservicesNotReadable: "Your roles do not include reading this department's e-services.",
    environmentPreparing: "The platform is preparing this environment. Reload the page in a moment.",
    name: "Name",
    quotaNames: {
      cpu: "CPU (cores)",
      memory: "Memory",
      storage: "Storage",
      pods: "Pods",
      eServices: "E-services",
      publicEndpoints: "Public endpoints",
    },
    conditionNames: {
      Ready: "Ready",
      QuotaHealthy: "Quota healthy",
      PolicyCompliant: "Policy compliant",
      Deployed: "Deployed",
      SecurityBaseline: "Security baseline",
      AccessibilityBaseline: "Accessibility baseline",
      Exposed: "Exposed",
      Available: "Available",
      StorageSized: "Storage sized",
    } as Record<string, string>,
    conditionStates: { True: "Yes", False: "No", Unknown: "Unknown" } as Record<string, string>,
    eserviceIn: (environment: string) => `E-service in ${environment}`,
    image: "Image",
    exposure: "Exposure",
    exposures: { public: "Public", internal: "Internal" } as Record<string, string>,
    findingsTitle: "Accessibility findings",
    noFindings: "The last scan found nothing to fix.",
    notScannedYet: "Not scanned yet.",
    page: "Page",
    rule: "Rule",
    impact: "Impact",
    wcag: "WCAG criterion",
    elements: "Elements",
    howToFix: "How to fix",
    moreAbout: (rule: string) => `More about ${rule}`,
    changeImage: "Deploy another image",
    changeImageHint: "The full image reference with its tag, from a registry the platform allows.",
    deploy: "Deploy",
    publishTitle: "Publishing",
    expose: "Expose to the public",
    withdraw: "Withdraw from the public",
    thereIsAProblem: "There is a problem",
    saved: "Saved. The platform is applying the change.",
    createEService: (environment: string) => `Create an e-service in ${environment}`,
    eserviceName: "Name",
    eserviceNameHint: "Lower-case letters, digits and hyphens; it becomes part of the address.",
    displayNameEn: "Name shown to citizens, in English",
    displayNameZh: "Name shown to citizens, in Traditional Chinese",
    optional: "optional",
    create: "Create",
    costsTitle: "Costs",
    costsIntro: "What each department's hosting costs, from the monthly chargeback statements.",
    month: "Month",
    show: "Show",
    costByDepartment: (period: string) => `Cost by department, ${period}`,
    chartDescription: "A bar for each department; the table below gives the same figures.",
    noStatements: "No statements for this month yet.",
    amount: "Amount",
    budget: "Monthly budget",
    spent: "Spent this month",
    forecast: "Forecast for the month",
    statementState: "Statement",
    finalized: "Finalized",
    draft: "Draft (still changing)",
    statementTitle: (department: string, period: string) => `${department}: statement for ${period}`,
    downloadCsv: "Download as CSV (spreadsheet)",
    environment: "Environment",
    eservice: "E-service",
    item: "Item",
    quantity: "Quantity",
    unitPrice: "Unit price",
    total: "Total",
    subtotal: (what: string) => `Subtotal ${what}`,
    departmentWide: "Department-wide",
    costsLink: "Costs",
    performanceLink: "Performance",
    performanceTitle: "Service performance",
    performanceIntro:
      "How each department's e-services stand against the targets the department set, month by month, as the platform measured them: completed transactions, completion rate, digital take-up, availability, satisfaction and response time.",
    departmentsRanked: (month: string) => `Departments ranked by targets met, ${month}`,
    scoreChartDescription:
      "A bar for each ranked department's score, on a scale to 100%; the table below gives the same figures.",
    noRanking: "There are no departments' e-services to show for the month.",
    rank: "Rank",
    score: "Score",
    targetsMet: "Targets met",
    targetsMetOf: (met: string, measured: string) => `${met} of ${measured}`,
    eservicesColumn: "E-services",
    eservicesMissingTargets: "E-services missing targets",
    eservicesWithoutTargets: "E-services without targets",
    notRanked: "Not ranked",
    nothingMeasured: "No target measured in the month",
    measurementsUnavailable: "Its measurements could not be read: ",
    clusterFigures: (month: string) => `Service clusters, ${month}`,
    departmentsColumn: "Departments",
    requests: "Requests",
    serverErrors: "Server errors",
    transactionsStarted: "Transactions started",
    transactionsCompleted: "Transactions completed",
    completionRate: "Completion rate",
    responseTime: "Response time (95th percentile)",
    otherChannelTransactions: "Transactions through other channels",
    digitalTakeUp: "Digital take-up",
    costInMonth: "Cost in the month",
    costPerTransaction: "Cost per completed transaction",
    checksAnswered: (percent: string, up: string, probes: string) =>
      `${percent} (${up} of ${probes} checks answered)`,
    ratingsSatisfied: (percent: string, ratings: number, ratingsText: string) =>
      `${percent} of ${ratings === 1 ? "1 rating" : `${ratingsText} ratings`} satisfied or very satisfied`,
    withServerErrorRate: (count: string, percent: string) => `${count} (${percent} of requests)`,
    notMeasuredFigure: "Not measured",
    milliseconds: (ms: string) => `${ms} ms`,
    costWithState: (amount: string, finalized: boolean) =>
      finalized ? `${amount} (finalized statement)` : `${amount} (draft statement: it may still change)`,
    notReported: "Not reported by the department",
    scorecardTitle: (department: string, month: string) => `${department}: service performance in ${month}`,
    scorecardSummary: "Summary",
    summaryEservices: "E-services",
    summaryMissing: "Missing at least one target",
    summaryMeeting: "Meeting every measured target",
    summaryWithout: "Without targets",
    noScorecardRows: "The department has no e-services.",
    eserviceInEnvironment: (eservice: string, environment: string) => `${eservice} in ${environment}`,
    verdict: (verdict: string, missed: number): string =>
      verdict === "misses-targets"
        ? `Misses ${missed === 1 ? "1 target" : `${missed} targets`}`
        : verdict === "no-targets"
          ? "No targets set"
          : "Meets every measured target",
    targetsOf: (eservice: string) => `Targets of ${eservice}`,
    monthFigures: "Figures for the month",
    targetColumn: "Target",
    goal: "Goal",
    actual: "Actual",
    targetNames: {
      monthlyCompletedTransactions: "Completed transactions in the month",
      completionRatePercent: "Completion rate",
      digitalTakeUpPercent: "Digital take-up",
      satisfactionPercent: "Satisfaction",
      availabilityPercent: "Availability",
      p95ResponseMilliseconds: "Response time (95th percentile)",
    } as Record<string, string>,
    atLeast: (value: string) => `at least ${value}`,
    atMost: (value: string) => `at most ${value}`,
    met: "Met",
    missedBy: (unit: "transactions" | "points" | "milliseconds", amount: string, one: boolean): string =>
      unit === "transactions"
        ? `Missed by ${amount} ${one ? "transaction" : "transactions"}`
        : unit === "points"
          ? `Missed by ${amount} percentage ${one ? "point" : "points"}`
          : `Missed by ${amount} ms`,
    notMeasuredBecause: "Not measured: ",
    /** The API's reasons, by their code, in the page's language (English pages show the API's own words). */
    notMeasuredReasons: {} as Partial<Record<NotMeasuredCode, string>>,
    scorecardLink: "Service performance this month",
    reportOtherChannels: (eservice: string) => `Report ${eservice}'s transactions through other channels`,
    otherChannelsTitle: (eservice: string, month: string) =>
      `${eservice}: transactions through other channels in ${month}`,
    otherChannelsIntro:
      "Digital take-up is the share of the month's completed transactions made online. Give the transactions completed through each other channel in the month; a channel left empty counts as none. Saving replaces the month's earlier report, and it is recorded in the audit log.",
    otherChannelsLegend: "Completed transactions by channel",
    channelNames: {
      counter: "At a counter",
      phone: "By phone",
      post: "By post",
      email: "By email",
      other: "Other channels",
    } as Record<string, string>,
    wholeNumberHint: "A whole number, 0 or more",
    lastReported: (at: string) => `Last reported ${at}.`,
    notReportedYet: "Not reported for this month yet.",
    otherChannelsSaved: "Saved. The scorecard measures digital take-up against it.",
    backToScorecard: "Back to the scorecard",
    saveReport: "Save the report",
    mayNotReport: "Only the department's developers and admins report these figures.",
    auditTitle: "Audit log",
    auditIntro:
      "Every change made through the portal, newest first, in a hash chain that shows any tampering.",
    chainValid: (records: number) => `The chain is intact: ${records} records verified.`,
    chainBroken: (at: number, reason: string) => `The chain is broken at record ${at}: ${reason}`,
    time: "Time",
    actor: "Who",
    action: "Action",
    target: "Target",
    outcome: "Outcome",
    sharedServicesIn: (environment: string) => `Shared services in ${environment}`,
    service: "Service",
    plan: "Plan",
    monthlyFee: "Monthly fee",
    perMonth: (fee: string) => `${fee} a month`,
    planChoice: (plan: string, fee: string) => `${plan} (${fee} a month)`,
    noSubscriptions: "This environment subscribes to no shared service.",
    subscribeTitle: "Subscribe to a shared service",
    subscribeIntro: "The plan's fee is charged from today, pro rata, on the department's monthly statement.",
    subscriptionName: "Name of the subscription",
    servicePlan: "Service and plan",
    choose: "Choose…",
    choosePlan: "Choose a service and a plan.",
    subscribe: "Subscribe",
    cancellationStarted: "Cancellation started. The service and its data are being removed.",
    changePlanTitle: "Change plan",
    changePlan: "Change plan",
    cancelTitle: "Cancel the subscription",
    confirmCancel: "I understand that the service and its data will be removed.",
    confirmCancelMissing: "Tick the box to confirm that the service and its data may be removed.",
    cancelSubscription: "Cancel the subscription",
    legalHoldsTitle: "Legal holds",
    noHolds: "No legal hold is in place.",
    holdId: "Hold reference",
    holdIdHint: "Letters, digits and hyphens, e.g. the case number.",
    holdReason: "Reason",
    holdReasonHint: "At least 10 characters: why the records must be kept.",
    placedBy: "Placed by",
    liftHoldColumn: "Lift",
    liftHold: (id: string) => `Lift hold ${id}`,
    placeHoldTitle: "Place a legal hold",
    placeHold: "Place the hold",
    holdExists: (id: string) => `A legal hold ${id} is already in place.`,
    holdMissing: (id: string) =>
      `There is no legal hold ${id} on this instance; it may have been lifted already.`,
    recordsManagersOnly: "Only records managers may place or lift legal holds.",
    retentionTitle: "Retention schedules",
    retentionLine: (recordClass: string, years: number, disposal: string) =>
      `${recordClass}: kept ${years} years, then ${disposal === "transfer-to-archives" ? "transferred to the archives" : "destroyed"}`,
    policyReportsLink: "Policy reports",
    apiRequestsLink: "Requests for this department's APIs",
    apiRequestsTitle: "Requests for our APIs",
    apiRequestsIntro:
      "Other departments' requests to call this department's APIs. Approving opens exactly that path until the date asked for; refusing keeps it closed.",
    onlyAdminsDecide: "Only the department's admins decide requests.",
    noApiRequests: "No department has asked for this department's APIs.",
    requestHeading: (consumer: string, api: string) => `${consumer} asks for ${api}`,
    purpose: "Purpose",
    accessUntil: "Access until",
    callsLabel: "Calls through the API gateway",
    callsSummary: (allowed: number, refused: number, last: string | undefined) =>
      `${allowed} let through, ${refused} refused${last ? `; last call ${last}` : ""}`,
    decisionReason: "Reason for the decision (shown to the requesting department)",
    approveRequest: (name: string) => `Approve ${name}`,
    refuseRequest: (name: string) => `Refuse ${name}`,
    decisionSaved: "Decision recorded.",
    grantPhases: {
      Pending: "Awaiting a decision",
      Active: "Approved: access open",
      Refused: "Refused",
      Expired: "Expired",
      Invalid: "Invalid request",
    } as Record<string, string>,
    policyReportsTitle: "Policy reports",
    policyReportsIntro:
      "The platform checks every object in the department's namespaces against the security and accessibility baselines, in the background.",
    reportFor: (namespace: string) => `Namespace ${namespace}`,
    reportSummary: (pass: number, fail: number, warn: number) =>
      `${pass} passed, ${fail} failed, ${warn} warnings`,
    noReports: "No report yet: the first background scan has not finished.",
    nothingFailing: "Every check passes.",
    policy: "Policy",
    severity: "Severity",
    object: "Object",
    message: "Message",
    budgetTitle: "Budget this month",
    noBudget: "The department has no monthly budget.",
    budgetUsed: "Share of the budget spent",
    rateCardLink: "Rate card",
    apiCatalogueLink: "APIs",
    apiCatalogueTitle: "APIs between departments",
    apiCatalogueIntro:
      "The APIs departments publish to each other. To call one, ask for access from one of your environments (an ApiGrant); the publishing department's admins decide.",
    noApis: "No department publishes an API yet.",
    api: "API",
    publishedBy: "Published by",
    dataClassification: "Data classification",
    openApiDocument: "OpenAPI document",
    gatewayPath: "Path at the API gateway",
    whoMayAsk: "Your departments that may ask",
    noneOfYours: "None of your departments",
    askFor: (api: string, department: string) => `Ask for ${api} of ${department}`,
    askFrom: "From which of your environments",
    askButton: (what: string) => `${what}: send the request`,
    accessAsked: "Request sent: the publishing department's admins decide.",
    chooseEnvironment: "Choose the environment that will call the API.",
    chooseDate: "Give the date access should end, as YYYY-MM-DD.",
    rateCardTitle: "Rate card",
    rateCardIntro: "The prices metering charges, exactly, per unit. A new version takes effect at its start.",
    inForceSince: (date: string) => `In force since ${date}`,
    noRateInForce: "No version is in force yet.",
    allocationMode: (mode: string): string =>
      mode === "reserved"
        ? "Departments pay for the quota reserved."
        : "Departments pay for what they use: the larger of requests and measured use.",
    unitPrices: {
      cpuCoreHour: "CPU, per core-hour",
      memoryGiBHour: "Memory, per GiB-hour",
      storageGiBMonth: "Storage, per GiB-month",
      publicEndpointMonth: "Public endpoint, per month",
      eServiceMonth: "E-service, per month",
    } as Record<string, string>,
    planPrices: "Shared service plans, per month",
    versionsTitle: "All versions",
    validFrom: "Takes effect",
    price: "Price",
    newDepartmentLink: "Create a department",
    newDepartmentTitle: "Create a department",
    departmentName: "Identifier",
    departmentNameHint:
      "Lower-case letters, digits and hyphens; it begins every namespace of the department.",
    costCentre: "Cost centre",
    adminsGroup: "Group of the department's admins",
    developersGroup: "Group of the department's developers",
    groupHint: "The group name as the identity provider sends it.",
    domain: "Domain of the department's public addresses",
    domainHint: "e.g. immd.gov.hk",
    quotaFieldset: "Quota across all environments",
    classification: "Highest data classification",
    classifications: {
      UNCLASSIFIED: "Unclassified",
      RESTRICTED: "Restricted",
      CONFIDENTIAL: "Confidential",
    } as Record<string, string>,
    monthlyBudget: "Monthly budget (HK$)",
  },
  "zh-Hant": {
    siteName: "政府電子服務",
    skipLink: "跳至主要內容",
    languageSwitch: "English",
    languageSwitchLabel: "以英文閱讀本頁",
    officialSite: "政府官方網站",
    catalogueTitle: "政府電子服務",
    catalogueIntro: "按您要辦理的事務尋找電子服務。這裏列出的每項服務均符合其頁面所示的無障礙標準。",
    searchLabel: "搜尋電子服務",
    searchButton: "搜尋",
    searchResults: (count: number, query: string) =>
      `找到 ${new Intl.NumberFormat("zh-Hant").format(count)} 項與「${query}」相關的電子服務`,
    clearSearch: "顯示所有電子服務",
    noServices: "暫未有已發布的電子服務。",
    noResults: "沒有電子服務符合您的搜尋。請嘗試其他字詞，或瀏覽所有電子服務。",
    servicesInCluster: (count: number) => `${count} 項電子服務`,
    clustersNav: "服務類別",
    department: "部門",
    cluster: "服務類別",
    address: "網址",
    standard: "無障礙標準",
    lastScan: "最近一次無障礙檢查",
    notScanned: "未有記錄",
    availability: "可用率",
    availabilityIn: (percent: string, month: string) => `${month}平台檢查的回應率為 ${percent}`,
    satisfaction: "滿意度",
    satisfactionIn: (percent: string, ratings: number, month: string) =>
      `${month}共 ${ratings} 個評分，其中 ${percent} 表示滿意或非常滿意`,
    notMeasured: "尚未量度",
    useService: "使用此電子服務",
    backToCatalogue: "所有電子服務",
    notFoundTitle: "找不到網頁",
    notFoundText: "此網址沒有已發布的電子服務。該服務可能已撤回或改名。",
    footer: "由政府私有雲（govhost）寄存。",
    signIn: "登入",
    signOut: "登出",
    signedInAs: (name: string) => `已登入：${name}`,
    signInExpired: "登入逾時",
    signInExpiredText: "登入時間過長或在另一個瀏覽器開始。請重新登入。",
    signInFailed: "登入失敗",
    signInFailedText: "無法接受身分提供者的回覆。請重新登入。",
    myDepartmentsTitle: "您的部門",
    noDepartments: "您不屬於任何部門的群組。",
    forbiddenTitle: "不獲准許",
    forbiddenText: "您無權存取此部門的網頁。",
    loadFailedTitle: "發生錯誤",
    loadFailedText: "未能載入網頁。請稍後再試。",
    status: "狀態",
    environments: "環境",
    quotaTitle: "所有環境合計配額",
    resource: "資源",
    used: "已用",
    limit: "上限",
    share: "已用比例",
    eservicesIn: (environment: string) => `${environment} 環境的電子服務`,
    noEServices: "沒有電子服務。",
    eservicesNotReadable: "你的角色不包括閱讀此部門的電子服務。",
    environmentPreparing: "平台正在準備此環境，請稍後重新載入本頁。",
    name: "名稱",
    quotaNames: {
      cpu: "中央處理器（核心）",
      memory: "記憶體",
      storage: "儲存空間",
      pods: "Pod",
      eServices: "電子服務",
      publicEndpoints: "公開端點",
    },
    conditionNames: {
      Ready: "就緒",
      QuotaHealthy: "配額正常",
      PolicyCompliant: "符合政策",
      Deployed: "已部署",
      SecurityBaseline: "保安基線",
      AccessibilityBaseline: "無障礙基線",
      Exposed: "已公開",
      Available: "可用",
      StorageSized: "儲存空間已配置",
    } as Record<string, string>,
    conditionStates: { True: "是", False: "否", Unknown: "未知" } as Record<string, string>,
    eserviceIn: (environment: string) => `${environment} 環境的電子服務`,
    image: "映像",
    exposure: "公開程度",
    exposures: { public: "公開", internal: "內部" } as Record<string, string>,
    findingsTitle: "無障礙檢查結果",
    noFindings: "最近一次檢查沒有發現需要修正的地方。",
    notScannedYet: "尚未檢查。",
    page: "網頁",
    rule: "規則",
    impact: "影響",
    wcag: "WCAG 準則",
    elements: "元素",
    howToFix: "修正方法",
    moreAbout: (rule: string) => `有關 ${rule} 的詳情`,
    changeImage: "部署另一個映像",
    changeImageHint: "完整的映像名稱及標籤，須來自平台准許的映像庫。",
    deploy: "部署",
    publishTitle: "公開發布",
    expose: "向公眾公開",
    withdraw: "撤回公開",
    thereIsAProblem: "出現問題",
    saved: "已儲存。平台正在套用更改。",
    createEService: (environment: string) => `在 ${environment} 環境建立電子服務`,
    eserviceName: "名稱",
    eserviceNameHint: "小寫英文字母、數字及連字號；會成為網址的一部分。",
    displayNameEn: "向市民顯示的英文名稱",
    displayNameZh: "向市民顯示的繁體中文名稱",
    optional: "選填",
    create: "建立",
    costsTitle: "費用",
    costsIntro: "各部門的寄存費用，取自每月的成本分攤結算表。",
    month: "月份",
    show: "顯示",
    costByDepartment: (period: string) => `${period} 各部門費用`,
    chartDescription: "每個部門一條橫棒；下表列出相同數字。",
    noStatements: "本月暫未有結算表。",
    amount: "金額",
    budget: "每月預算",
    spent: "本月已用",
    forecast: "本月預測",
    statementState: "結算表",
    finalized: "已定案",
    draft: "草稿（仍會變動）",
    statementTitle: (department: string, period: string) => `${department}：${period} 結算表`,
    downloadCsv: "下載 CSV（試算表）",
    environment: "環境",
    eservice: "電子服務",
    item: "項目",
    quantity: "數量",
    unitPrice: "單價",
    total: "總計",
    subtotal: (what: string) => `小計：${what}`,
    departmentWide: "全部門",
    costsLink: "費用",
    performanceLink: "服務表現",
    performanceTitle: "服務表現",
    performanceIntro:
      "按月顯示各部門的電子服務相對部門所訂目標的表現，數字由平台量度：完成交易、完成率、數碼使用率、可用率、滿意度及回應時間。",
    departmentsRanked: (month: string) => `${month}各部門按達標情況排名`,
    scoreChartDescription: "每個已排名的部門一條橫棒，顯示其得分（以 100% 為滿分）；下表列出相同數字。",
    noRanking: "該月沒有可顯示的部門電子服務。",
    rank: "排名",
    score: "得分",
    targetsMet: "已達目標",
    targetsMetOf: (met: string, measured: string) => `${measured} 項中 ${met} 項`,
    eservicesColumn: "電子服務",
    eservicesMissingTargets: "未達目標的電子服務",
    eservicesWithoutTargets: "未設目標的電子服務",
    notRanked: "未有排名",
    nothingMeasured: "該月沒有已量度的目標",
    measurementsUnavailable: "未能讀取其量度數據：",
    clusterFigures: (month: string) => `${month}各服務類別`,
    departmentsColumn: "部門",
    requests: "請求",
    serverErrors: "伺服器錯誤",
    transactionsStarted: "已開始的交易",
    transactionsCompleted: "已完成的交易",
    completionRate: "完成率",
    responseTime: "回應時間（第 95 百分位）",
    otherChannelTransactions: "經其他渠道辦理的交易",
    digitalTakeUp: "數碼使用率",
    costInMonth: "該月費用",
    costPerTransaction: "每宗完成交易的費用",
    checksAnswered: (percent: string, up: string, probes: string) =>
      `${percent}（${probes} 次檢查中 ${up} 次有回應）`,
    ratingsSatisfied: (percent: string, _ratings: number, ratingsText: string) =>
      `${ratingsText} 個評分中 ${percent} 表示滿意或非常滿意`,
    withServerErrorRate: (count: string, percent: string) => `${count}（佔請求的 ${percent}）`,
    notMeasuredFigure: "未能量度",
    milliseconds: (ms: string) => `${ms} 毫秒`,
    costWithState: (amount: string, finalized: boolean) =>
      finalized ? `${amount}（結算表已定案）` : `${amount}（結算表仍為草稿，或會變動）`,
    notReported: "部門未有報告",
    scorecardTitle: (department: string, month: string) => `${department}：${month}服務表現`,
    scorecardSummary: "摘要",
    summaryEservices: "電子服務",
    summaryMissing: "最少一項目標未達",
    summaryMeeting: "所有已量度的目標均達到",
    summaryWithout: "未設目標",
    noScorecardRows: "此部門沒有電子服務。",
    eserviceInEnvironment: (eservice: string, environment: string) => `${environment} 環境的 ${eservice}`,
    verdict: (verdict: string, missed: number): string =>
      verdict === "misses-targets"
        ? `${missed} 項目標未達`
        : verdict === "no-targets"
          ? "未設目標"
          : "所有已量度的目標均達到",
    targetsOf: (eservice: string) => `${eservice} 的目標`,
    monthFigures: "該月數字",
    targetColumn: "目標項目",
    goal: "目標",
    actual: "實際",
    targetNames: {
      monthlyCompletedTransactions: "該月完成的交易",
      completionRatePercent: "完成率",
      digitalTakeUpPercent: "數碼使用率",
      satisfactionPercent: "滿意度",
      availabilityPercent: "可用率",
      p95ResponseMilliseconds: "回應時間（第 95 百分位）",
    } as Record<string, string>,
    atLeast: (value: string) => `最少 ${value}`,
    atMost: (value: string) => `最多 ${value}`,
    met: "已達標",
    missedBy: (unit: "transactions" | "points" | "milliseconds", amount: string, _one: boolean): string =>
      unit === "transactions"
        ? `未達標：差 ${amount} 宗交易`
        : unit === "points"
          ? `未達標：差 ${amount} 個百分點`
          : `未達標：慢了 ${amount} 毫秒`,
    notMeasuredBecause: "未能量度：",
    /** The API's reasons, by their code, in Traditional Chinese; a code not here is shown in the API's words. */
    notMeasuredReasons: {
      "no-requests": "期內沒有點算到任何請求",
      "not-rated": "期內沒有市民為此電子服務評分",
      "not-probed": "期內平台沒有檢查此電子服務（它並非公開，或檢查已關閉）",
      "channels-not-reported": "部門未有報告該月經其他渠道辦理的交易數目",
      "no-transactions": "期內沒有經任何渠道完成的交易",
    } satisfies Record<NotMeasuredCode, string> as Partial<Record<NotMeasuredCode, string>>,
    scorecardLink: "本月服務表現",
    reportOtherChannels: (eservice: string) => `報告 ${eservice} 經其他渠道辦理的交易`,
    otherChannelsTitle: (eservice: string, month: string) => `${eservice}：${month}經其他渠道辦理的交易`,
    otherChannelsIntro:
      "數碼使用率是該月完成的交易中經網上辦理的比例。請填寫該月經每個其他渠道完成的交易數目；留空的渠道當作沒有。儲存後會取代該月較早的報告，並記錄在審計記錄中。",
    otherChannelsLegend: "按渠道劃分的完成交易",
    channelNames: {
      counter: "櫃位",
      phone: "電話",
      post: "郵遞",
      email: "電郵",
      other: "其他渠道",
    } as Record<string, string>,
    wholeNumberHint: "整數，0 或以上",
    lastReported: (at: string) => `最後報告於 ${at}。`,
    notReportedYet: "本月尚未報告。",
    otherChannelsSaved: "已儲存。成績表會以此量度數碼使用率。",
    backToScorecard: "返回成績表",
    saveReport: "儲存報告",
    mayNotReport: "只有部門的開發人員及管理員可報告這些數字。",
    auditTitle: "審計記錄",
    auditIntro: "經入口網站作出的每項更改，最新的在前，以雜湊鏈記錄，任何竄改都會顯示出來。",
    chainValid: (records: number) => `雜湊鏈完整：已核實 ${records} 項記錄。`,
    chainBroken: (at: number, reason: string) => `雜湊鏈在第 ${at} 項記錄斷開：${reason}`,
    time: "時間",
    actor: "執行者",
    action: "操作",
    target: "對象",
    outcome: "結果",
    sharedServicesIn: (environment: string) => `${environment} 的共用服務`,
    service: "服務",
    plan: "計劃",
    monthlyFee: "月費",
    perMonth: (fee: string) => `每月 ${fee}`,
    planChoice: (plan: string, fee: string) => `${plan}（每月 ${fee}）`,
    noSubscriptions: "此環境未有訂用任何共用服務。",
    subscribeTitle: "訂用共用服務",
    subscribeIntro: "計劃費用由今日起按比例計算，列入部門的每月結算單。",
    subscriptionName: "訂用名稱",
    servicePlan: "服務及計劃",
    choose: "請選擇…",
    choosePlan: "請選擇服務及計劃。",
    subscribe: "訂用",
    cancellationStarted: "已開始取消。服務及其資料正在移除。",
    changePlanTitle: "更改計劃",
    changePlan: "更改計劃",
    cancelTitle: "取消訂用",
    confirmCancel: "我明白服務及其資料將會移除。",
    confirmCancelMissing: "請剔選方格，確認可以移除服務及其資料。",
    cancelSubscription: "取消訂用",
    legalHoldsTitle: "法律保留",
    noHolds: "現時沒有法律保留。",
    holdId: "保留編號",
    holdIdHint: "英文字母、數字及連字號，例如案件編號。",
    holdReason: "原因",
    holdReasonHint: "最少 10 個字元：說明為何須保存記錄。",
    placedBy: "設定者",
    liftHoldColumn: "解除",
    liftHold: (id: string) => `解除保留 ${id}`,
    placeHoldTitle: "設定法律保留",
    placeHold: "設定保留",
    holdExists: (id: string) => `法律保留 ${id} 已經存在。`,
    holdMissing: (id: string) => `此服務沒有法律保留 ${id}，可能已被解除。`,
    recordsManagersOnly: "只有記錄經理可以設定或解除法律保留。",
    retentionTitle: "保存期限表",
    retentionLine: (recordClass: string, years: number, disposal: string) =>
      `${recordClass}：保存 ${years} 年，其後${disposal === "transfer-to-archives" ? "移交檔案館" : "銷毀"}`,
    policyReportsLink: "政策報告",
    apiRequestsLink: "本部門應用程式介面的存取申請",
    apiRequestsTitle: "我們的應用程式介面的存取申請",
    apiRequestsIntro:
      "其他部門調用本部門應用程式介面的申請。批准後只會開放該路徑至申請的日期；拒絕則維持關閉。",
    onlyAdminsDecide: "只有部門管理員可以決定申請。",
    noApiRequests: "暫時沒有部門申請調用本部門的應用程式介面。",
    requestHeading: (consumer: string, api: string) => `${consumer} 申請調用 ${api}`,
    purpose: "用途",
    accessUntil: "存取期限",
    callsLabel: "經應用程式介面閘道的調用",
    callsSummary: (allowed: number, refused: number, last: string | undefined) =>
      `已放行 ${allowed} 次，已拒絕 ${refused} 次${last ? `；最後一次調用於 ${last}` : ""}`,
    decisionReason: "決定的理由（申請部門可見）",
    approveRequest: (name: string) => `批准 ${name}`,
    refuseRequest: (name: string) => `拒絕 ${name}`,
    decisionSaved: "已記錄決定。",
    grantPhases: {
      Pending: "等待決定",
      Active: "已批准：存取已開放",
      Refused: "已拒絕",
      Expired: "已過期",
      Invalid: "申請無效",
    } as Record<string, string>,
    policyReportsTitle: "政策報告",
    policyReportsIntro: "平台在背景按保安及無障礙基線，檢查部門命名空間內的每個物件。",
    reportFor: (namespace: string) => `命名空間 ${namespace}`,
    reportSummary: (pass: number, fail: number, warn: number) =>
      `${pass} 項通過，${fail} 項不通過，${warn} 項警告`,
    noReports: "暫未有報告：首次背景檢查尚未完成。",
    nothingFailing: "所有檢查均通過。",
    policy: "政策",
    severity: "嚴重程度",
    object: "物件",
    message: "訊息",
    budgetTitle: "本月預算",
    noBudget: "部門未設定每月預算。",
    budgetUsed: "已用預算比例",
    rateCardLink: "收費表",
    apiCatalogueLink: "應用程式介面",
    apiCatalogueTitle: "部門之間的應用程式介面",
    apiCatalogueIntro:
      "各部門互相提供的應用程式介面。如要調用，請從你的其中一個環境申請存取（ApiGrant）；由提供部門的管理員決定。",
    noApis: "暫時沒有部門提供應用程式介面。",
    api: "應用程式介面",
    publishedBy: "提供部門",
    dataClassification: "資料分類",
    openApiDocument: "OpenAPI 文件",
    gatewayPath: "應用程式介面閘道路徑",
    whoMayAsk: "可申請的你的部門",
    noneOfYours: "你的部門都不可申請",
    askFor: (api: string, department: string) => `申請調用 ${department} 的 ${api}`,
    askFrom: "從你的哪個環境調用",
    askButton: (what: string) => `${what}：提交申請`,
    accessAsked: "已提交申請：由提供部門的管理員決定。",
    chooseEnvironment: "請選擇將調用該應用程式介面的環境。",
    chooseDate: "請以 YYYY-MM-DD 格式填寫存取結束日期。",
    rateCardTitle: "收費表",
    rateCardIntro: "計量收費所用的準確單價。新版本在其生效時間起適用。",
    inForceSince: (date: string) => `自 ${date} 起生效`,
    noRateInForce: "暫未有生效的版本。",
    allocationMode: (mode: string): string =>
      mode === "reserved" ? "部門按預留的配額付費。" : "部門按使用量付費：以申請量及實際用量中較大者計算。",
    unitPrices: {
      cpuCoreHour: "中央處理器，每核心小時",
      memoryGiBHour: "記憶體，每 GiB 小時",
      storageGiBMonth: "儲存空間，每 GiB 月",
      publicEndpointMonth: "公開端點，每月",
      eServiceMonth: "電子服務，每月",
    } as Record<string, string>,
    planPrices: "共用服務計劃，每月",
    versionsTitle: "所有版本",
    validFrom: "生效時間",
    price: "價格",
    newDepartmentLink: "建立部門",
    newDepartmentTitle: "建立部門",
    departmentName: "識別碼",
    departmentNameHint: "小寫英文字母、數字及連字號；部門每個命名空間均以此開始。",
    costCentre: "成本中心",
    adminsGroup: "部門管理員的群組",
    developersGroup: "部門開發人員的群組",
    groupHint: "身分提供者發出的群組名稱。",
    domain: "部門公開網址的網域",
    domainHint: "例如 immd.gov.hk",
    quotaFieldset: "所有環境合計的配額",
    classification: "最高資料保密級別",
    classifications: {
      UNCLASSIFIED: "非保密",
      RESTRICTED: "限閱",
      CONFIDENTIAL: "機密",
    } as Record<string, string>,
    monthlyBudget: "每月預算（港元）",
  },
} satisfies Record<Locale, Record<string, unknown>>;

export type Messages = (typeof messages)["en"];
export const messagesFor = (locale: Locale): Messages => messages[locale];

/** A date and time in the locale's form, in the platform's time zone. */
export function formatDateTime(iso: string, locale: Locale, timeZone: string): string {
  return new Intl.DateTimeFormat(locale === "en" ? "en-HK" : "zh-Hant-HK", {
    dateStyle: "long",
    timeStyle: "short",
    timeZone,
  }).format(new Date(iso));
}

/** A month (YYYY-MM) as people write it: "December 2026", "2026年12月". */
export function formatMonth(period: string, locale: Locale): string {
  return new Intl.DateTimeFormat(locale === "en" ? "en-HK" : "zh-Hant-HK", {
    year: "numeric",
    month: "long",
    timeZone: "UTC",
  }).format(new Date(`${period}-01T00:00:00Z`));
}

/** How a figure is rounded to the digits shown (Intl's rounding modes; the default rounds half away from 0). */
export interface Rounding {
  /** Decimals at most (default 1 for percentages, 0 for numbers). */
  digits?: number;
  /** "floor": never shown above what was measured; "ceil": never below; "expand": never shown as 0. */
  mode?: "floor" | "ceil" | "expand";
}

/**
 * A directed rounding of a binary fraction could take 12.34 (stored as 12.3399…) down to 12.33: with a mode,
 * the value is first taken to 10 decimals as a decimal string, which Intl formats exactly.
 */
const roundable = (value: number, rounding: Rounding): number =>
  rounding.mode ? (value.toFixed(10) as unknown as number) : value;

/** A percentage with at most one decimal (or `digits`), in the locale's form. */
export function formatPercent(percent: number, locale: Locale, rounding: Rounding = {}): string {
  return new Intl.NumberFormat(locale === "en" ? "en-HK" : "zh-Hant-HK", {
    style: "percent",
    maximumFractionDigits: rounding.digits ?? 1,
    ...(rounding.mode ? { roundingMode: rounding.mode } : {}),
  }).format(roundable(percent / 100, rounding));
}

/** A number with the locale's grouping (1,234), to at most `digits` decimals (none by default). */
export function formatNumber(value: number, locale: Locale, rounding: Rounding = {}): string {
  return new Intl.NumberFormat(locale === "en" ? "en-HK" : "zh-Hant-HK", {
    maximumFractionDigits: rounding.digits ?? 0,
    ...(rounding.mode ? { roundingMode: rounding.mode } : {}),
  }).format(roundable(value, rounding));
}

/** The standard's name as people know it (WCAG22-AA → WCAG 2.2 AA). */
export function standardName(standard: string): string {
  const match = /^WCAG(\d)(\d)-(A{1,3})$/.exec(standard);
  return match ? `WCAG ${match[1]}.${match[2]} ${match[3]}` : standard;
}

/** An amount in minor units (cents), exactly, as the locale writes money (HK$1,234.50). */
export function formatMoney(minor: number, currency: string, locale: Locale): string {
  const format = new Intl.NumberFormat(locale === "en" ? "en-HK" : "zh-Hant-HK", {
    style: "currency",
    currency,
  });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  const sign = minor < 0 ? "-" : "";
  const units = String(Math.abs(minor)).padStart(digits + 1, "0");
  // A decimal string keeps the amount exact (Intl formats strings without going through a float).
  const decimal =
    digits > 0 ? `${sign}${units.slice(0, -digits)}.${units.slice(-digits)}` : `${sign}${units}`;
  return format.format(decimal as unknown as number);
}

/**
 * A unit price in minor units as an exact decimal string ("35.5" cents), as the locale writes money, with
 * every digit it has (HK$0.355): prices per hour are often fractions of a cent.
 */
export function formatPrice(minorDecimal: string, currency: string, locale: Locale): string {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(minorDecimal);
  if (!match) return minorDecimal;
  const options = { style: "currency", currency } as const;
  const tag = locale === "en" ? "en-HK" : "zh-Hant-HK";
  const digits = new Intl.NumberFormat(tag, options).resolvedOptions().maximumFractionDigits ?? 2;
  const whole = (match[1] ?? "0").padStart(digits + 1, "0");
  const fraction = `${whole.slice(whole.length - digits)}${match[2] ?? ""}`;
  const decimal = `${whole.slice(0, whole.length - digits)}.${fraction}`;
  return new Intl.NumberFormat(tag, {
    ...options,
    minimumFractionDigits: digits,
    maximumFractionDigits: Math.min(Math.max(digits, fraction.replace(/0+$/, "").length), 20),
  }).format(decimal as unknown as number);
}

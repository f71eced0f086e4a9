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
    auditTitle: "審計記錄",
    auditIntro: "經入口網站作出的每項更改，最新的在前，以雜湊鏈記錄，任何竄改都會顯示出來。",
    chainValid: (records: number) => `雜湊鏈完整：已核實 ${records} 項記錄。`,
    chainBroken: (at: number, reason: string) => `雜湊鏈在第 ${at} 項記錄斷開：${reason}`,
    time: "時間",
    actor: "執行者",
    action: "操作",
    target: "對象",
    outcome: "結果",
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

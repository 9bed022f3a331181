/// A retention rule set, restic's `forget` options: counts of 0 mean "rule off".
public struct RetentionRules: Sendable, Equatable {
    public var last = 0
    public var hourly = 0
    public var daily = 0
    public var weekly = 0
    public var monthly = 0
    public var yearly = 0
    public var within: RetentionDuration?
    /// `keep-tag`: every snapshot carrying one of these tags is kept (restic's `--keep-tag`).
    public var tags: [String] = []

    public init(
        last: Int = 0, hourly: Int = 0, daily: Int = 0, weekly: Int = 0, monthly: Int = 0, yearly: Int = 0,
        within: RetentionDuration? = nil
    ) {
        self.last = last
        self.hourly = hourly
        self.daily = daily
        self.weekly = weekly
        self.monthly = monthly
        self.yearly = yearly
        self.within = within
    }

    /// No rule at all: everything is kept ("policy is empty").
    public var isEmpty: Bool {
        last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 && yearly == 0 && (within?.isZero ?? true) && tags.isEmpty
    }

    /// The largest count a rule accepts (far beyond any real policy; bounds every loop on it).
    public static let maxCount = 1_000_000

    /// The policy keys, for validation and documentation.
    public static let keys = ["keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly", "keep-within", "keep-tag"]
}

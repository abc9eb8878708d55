//! Controlled vocabularies of the profile (seniority, company size, job function) and the
//! calendar helpers the store needs (birth year to age).

/// Seniority levels, junior to senior.
pub const SENIORITY: &[&str] = &[
    "intern",
    "entry",
    "associate",
    "mid_senior",
    "director",
    "vp",
    "cxo",
    "owner",
];

/// Company size bands (employees).
pub const COMPANY_SIZE: &[&str] = &[
    "1-10",
    "11-50",
    "51-200",
    "201-500",
    "501-1000",
    "1001-5000",
    "5001-10000",
    "10001+",
];

/// Job functions, the coarse grouping advertisers and insights use.
pub const JOB_FUNCTIONS: &[&str] = &[
    "accounting",
    "administrative",
    "arts_and_design",
    "business_development",
    "community_and_social_services",
    "consulting",
    "education",
    "engineering",
    "entrepreneurship",
    "finance",
    "healthcare_services",
    "human_resources",
    "information_technology",
    "legal",
    "marketing",
    "media_and_communication",
    "military_and_protective_services",
    "operations",
    "product_management",
    "program_and_project_management",
    "purchasing",
    "quality_assurance",
    "real_estate",
    "research",
    "sales",
    "support",
];

/// The job function of an O*NET-SOC major group (the code's first two digits).
pub fn job_function_of_soc(soc: &str) -> &'static str {
    match soc.get(..2).unwrap_or("") {
        "11" => "operations",
        "13" => "finance",
        "15" => "information_technology",
        "17" => "engineering",
        "19" => "research",
        "21" => "community_and_social_services",
        "23" => "legal",
        "25" => "education",
        "27" => "media_and_communication",
        "29" | "31" => "healthcare_services",
        "33" | "55" => "military_and_protective_services",
        "35" | "37" | "39" => "support",
        "41" => "sales",
        "43" => "administrative",
        "45" | "47" | "49" | "51" | "53" => "operations",
        _ => "operations",
    }
}

/// The civil (proleptic Gregorian) year of a time in milliseconds since the Unix epoch.
pub fn year_of_ms(at_ms: i64) -> i64 {
    // Howard Hinnant's days-to-civil algorithm.
    let days = at_ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

/// Whether a member born in `birth_year` may be under 18 at `at_ms`. Only the year is known, so
/// the answer errs towards protection: a member is treated as a minor through the calendar year
/// of their 18th birthday.
pub fn may_be_minor(birth_year: Option<i64>, at_ms: i64) -> bool {
    birth_year.is_some_and(|y| year_of_ms(at_ms) - y <= 18)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_are_computed_from_epoch_milliseconds() {
        assert_eq!(year_of_ms(0), 1970);
        assert_eq!(year_of_ms(-1), 1969);
        // 2024-02-29T12:00:00Z and 2026-12-31T23:59:59Z
        assert_eq!(year_of_ms(1_709_208_000_000), 2024);
        assert_eq!(year_of_ms(1_798_761_599_000), 2026);
        assert_eq!(year_of_ms(1_798_761_600_000), 2027);
    }

    #[test]
    fn minors_are_judged_conservatively() {
        let at = 1_780_000_000_000; // 2026
        assert!(may_be_minor(Some(2010), at));
        assert!(
            may_be_minor(Some(2008), at),
            "turns 18 during 2026: may still be 17"
        );
        assert!(!may_be_minor(Some(2007), at));
        assert!(!may_be_minor(None, at));
    }
}

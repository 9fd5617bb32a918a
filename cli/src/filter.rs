//! The options that choose cases (lists, exports, reports), shared by `jingwei` and
//! `jingwei-render`; they mean what the application API's `FilterDto` means.

use jingwei_app::cases::FilterDto;

/// Which cases.
#[derive(clap::Args, Clone, Default)]
pub struct FilterArgs {
    /// Only these statuses (comma-separated ids or Chinese names: pending,confirmed,… 待核查,…).
    #[arg(long)]
    pub status: Option<String>,
    /// Only cases that broke this rule (no_permit, over_permit, in_control_zone, new_since_survey, grown_since_survey, manual).
    #[arg(long)]
    pub rule: Option<String>,
    /// Only cases in a zone of this type (ecological_red_line, permanent_basic_farmland, …).
    #[arg(long)]
    pub zone_type: Option<String>,
    /// Only cases assigned to this inspector.
    #[arg(long)]
    pub assignee: Option<String>,
    /// Only cases of at least this priority.
    #[arg(long)]
    pub min_priority: Option<f64>,
}

impl FilterArgs {
    /// The store's filter; an unknown status is an error naming the ones there are.
    pub fn filter(&self) -> anyhow::Result<jingwei_cases::Filter> {
        Ok(FilterDto {
            status: self.status.clone(),
            rule: self.rule.clone(),
            zone_type: self.zone_type.clone(),
            assignee: self.assignee.clone(),
            min_priority: self.min_priority,
        }
        .to_filter()?)
    }
}

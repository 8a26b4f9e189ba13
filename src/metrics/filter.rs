//! Which families `/metrics` serves: `--metric-allowlist` or
//! `--metric-denylist`, with kube-state-metrics' semantics (comma-separated
//! regular expressions, each anchored at both ends, over family names).
//!
//! The lists are matched once, at start, against every family they can
//! filter ([`FAMILIES`] and [`COUNT_FAMILIES`]); what is left is a
//! [`FamilyFilter`], one bool per family, that the store and the exposition
//! read. No expression is kept or evaluated after start. `arize_up`, the
//! `arize_exporter_*` and the `process_*` families are always served.

use regex::Regex;

use super::families::FAMILIES;

/// The families that are not one series set per task (rendered before
/// the per-task ones), in the order of the exposition: the counts over
/// every task, then the names of spaces, projects and datasets. The lists
/// filter them as they do [`FAMILIES`].
pub const COUNT_FAMILIES: [&str; 11] = [
    "arize_tasks",
    "arize_tasks_never_run",
    "arize_tasks_last_run_unreadable",
    "arize_tasks_stale",
    "arize_tasks_last_run_failed",
    "arize_tasks_stuck",
    "arize_tasks_lagging",
    "arize_task_runs_total",
    "arize_space_info",
    "arize_project_info",
    "arize_dataset_info",
];

/// Which of the lists was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// `--metric-allowlist`: only the families an expression matches.
    Allow,
    /// `--metric-denylist`: every family but those an expression matches.
    Deny,
}

impl ListKind {
    /// The flag that sets this list.
    pub const fn flag(self) -> &'static str {
        match self {
            ListKind::Allow => "--metric-allowlist",
            ListKind::Deny => "--metric-denylist",
        }
    }
}

/// The families served, one bool per filterable family; every one by
/// default. Fixed at start: a scrape reads a bool, never a pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamilyFilter {
    /// Per entry of [`FAMILIES`].
    per_task: [bool; FAMILIES.len()],
    /// Per entry of [`COUNT_FAMILIES`].
    counts: [bool; COUNT_FAMILIES.len()],
}

impl Default for FamilyFilter {
    fn default() -> Self {
        FamilyFilter {
            per_task: [true; FAMILIES.len()],
            counts: [true; COUNT_FAMILIES.len()],
        }
    }
}

/// A list that could not be compiled: the error of the start, one line
/// without the flag (the caller names it).
#[derive(Debug, PartialEq, Eq)]
pub struct BadExpression {
    /// The expression as given.
    pub expression: String,
    /// What the regex parser said (its last line: the message without the
    /// pointer under the pattern).
    pub reason: String,
}

/// The filter of one list, and the expressions of the list that match no
/// family it filters (worth a warning: a typo in an allowlist drops every
/// family, one in a denylist drops none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledList {
    pub filter: FamilyFilter,
    pub kind: ListKind,
    pub unmatched: Vec<String>,
}

impl FamilyFilter {
    /// The filter of list `kind` whose value (flag or environment) is
    /// `value`: expressions separated by commas, each trimmed, empty ones
    /// ignored. `Ok(None)` when no expression is left (the list is unset).
    ///
    /// Errors: the first expression that is not a valid regular expression
    /// (for the `regex` crate's syntax, as Go's RE2 for kube-state-metrics).
    pub fn compile(kind: ListKind, value: &str) -> Result<Option<CompiledList>, BadExpression> {
        let expressions: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        if expressions.is_empty() {
            return Ok(None);
        }
        let mut matched = FamilyFilter {
            per_task: [false; FAMILIES.len()],
            counts: [false; COUNT_FAMILIES.len()],
        };
        let mut unmatched = Vec::new();
        for expression in expressions {
            let anchored = Regex::new(&format!("^(?:{expression})$")).map_err(|e| {
                let text = e.to_string();
                let reason = text
                    .lines()
                    .rev()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("invalid");
                // The regex crate's own prefix: main writes ours.
                let reason = reason
                    .strip_prefix("error:")
                    .map_or(reason, str::trim_start)
                    .to_owned();
                BadExpression {
                    expression: expression.to_owned(),
                    reason,
                }
            })?;
            let mut any = false;
            for (name, hit) in FamilyFilter::names().zip(matched.bools_mut()) {
                if anchored.is_match(name) {
                    *hit = true;
                    any = true;
                }
            }
            if !any {
                unmatched.push(expression.to_owned());
            }
        }
        let filter = match kind {
            ListKind::Allow => matched,
            ListKind::Deny => FamilyFilter {
                per_task: matched.per_task.map(|hit| !hit),
                counts: matched.counts.map(|hit| !hit),
            },
        };
        Ok(Some(CompiledList {
            filter,
            kind,
            unmatched,
        }))
    }

    /// The names of every family a list filters: [`FAMILIES`], then
    /// [`COUNT_FAMILIES`].
    pub fn names() -> impl Iterator<Item = &'static str> {
        FAMILIES
            .iter()
            .map(|f| f.name)
            .chain(COUNT_FAMILIES.iter().copied())
    }

    fn bools_mut(&mut self) -> impl Iterator<Item = &mut bool> {
        self.per_task.iter_mut().chain(self.counts.iter_mut())
    }

    /// Whether family `k` of [`FAMILIES`] is served.
    pub fn per_task(&self, k: usize) -> bool {
        self.per_task.get(k).copied().unwrap_or(false)
    }

    /// Whether count family `name` (one of [`COUNT_FAMILIES`]) is served;
    /// a name not in that table is not filtered.
    pub fn count(&self, name: &str) -> bool {
        COUNT_FAMILIES
            .iter()
            .position(|n| *n == name)
            .is_none_or(|k| self.counts.get(k).copied().unwrap_or(true))
    }

    /// Whether family `name` (any family a list filters) is served.
    pub fn serves(&self, name: &str) -> bool {
        match FAMILIES.iter().position(|f| f.name == name) {
            Some(k) => self.per_task(k),
            None => self.count(name),
        }
    }

    /// Whether any family of [`FAMILIES`] is served (else the store keeps
    /// no text at all).
    pub fn any_per_task(&self) -> bool {
        self.per_task.iter().any(|&on| on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(kind: ListKind, value: &str) -> CompiledList {
        FamilyFilter::compile(kind, value).unwrap().unwrap()
    }

    fn served(filter: &FamilyFilter) -> Vec<&'static str> {
        FamilyFilter::names().filter(|n| filter.serves(n)).collect()
    }

    #[test]
    fn an_expression_matches_whole_names_only() {
        let list = compile(ListKind::Allow, "arize_task_info");
        assert_eq!(served(&list.filter), ["arize_task_info"]);
        // Not a prefix, not a substring.
        let list = compile(ListKind::Allow, "arize_task");
        assert!(served(&list.filter).is_empty());
        assert_eq!(list.unmatched, ["arize_task"]);
        let list = compile(ListKind::Allow, "task_info");
        assert!(served(&list.filter).is_empty());
        // An alternation is anchored as a whole, not its first branch only.
        let list = compile(ListKind::Allow, "arize_task_info|arize_tasks");
        assert_eq!(served(&list.filter), ["arize_task_info", "arize_tasks"]);
        // `arize_tasks` is not a prefix of `arize_tasks_stale` here either.
        let list = compile(ListKind::Allow, "arize_tasks|arize_task_info");
        assert_eq!(served(&list.filter), ["arize_task_info", "arize_tasks"]);
    }

    #[test]
    fn a_pattern_enables_every_family_it_matches_and_no_other() {
        let list = compile(
            ListKind::Allow,
            " arize_task_last_run_.* , arize_tasks_stale,",
        );
        let expected: Vec<&str> = FamilyFilter::names()
            .filter(|n| n.starts_with("arize_task_last_run_") || *n == "arize_tasks_stale")
            .collect();
        assert_eq!(served(&list.filter), expected);
        assert_eq!(expected.len(), 11, "{expected:?}");
        assert!(list.unmatched.is_empty());
        assert!(!list.filter.serves("arize_task_info"));
        assert!(!list.filter.count("arize_tasks"));
    }

    #[test]
    fn a_denylist_serves_every_family_it_does_not_match() {
        let list = compile(
            ListKind::Deny,
            "arize_task_last_run_.*,arize_task_sampling_rate,arize_tasks_never_run",
        );
        let served = served(&list.filter);
        assert!(served.contains(&"arize_task_info"));
        assert!(served.contains(&"arize_tasks"));
        assert!(served.contains(&"arize_task_runs_total"));
        assert!(!served.contains(&"arize_task_sampling_rate"));
        assert!(!served.contains(&"arize_tasks_never_run"));
        assert!(!served.iter().any(|n| n.starts_with("arize_task_last_run_")));
        assert_eq!(served.len(), FamilyFilter::names().count() - 12);
        // A denylist that matches nothing denies nothing, and says so.
        let list = compile(ListKind::Deny, "arize_tsak_info");
        assert_eq!(list.filter, FamilyFilter::default());
        assert_eq!(list.unmatched, ["arize_tsak_info"]);
        // The always-served families are not the lists' to filter.
        let list = compile(ListKind::Allow, "arize_up,arize_task_info");
        assert_eq!(list.unmatched, ["arize_up"]);
    }

    #[test]
    fn an_empty_list_is_no_list() {
        assert_eq!(FamilyFilter::compile(ListKind::Allow, ""), Ok(None));
        assert_eq!(FamilyFilter::compile(ListKind::Deny, " , "), Ok(None));
        assert!(FamilyFilter::default().any_per_task());
        assert!(!compile(ListKind::Allow, "arize_tasks")
            .filter
            .any_per_task());
    }

    #[test]
    fn an_invalid_expression_is_named_with_a_one_line_reason() {
        let err =
            FamilyFilter::compile(ListKind::Deny, "arize_tasks,arize_task_(info").unwrap_err();
        assert_eq!(err.expression, "arize_task_(info");
        assert!(!err.reason.contains('\n'));
        assert!(err.reason.contains("unclosed"), "{}", err.reason);
    }
}

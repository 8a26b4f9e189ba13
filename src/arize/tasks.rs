//! `GET /v2/tasks`: the path, the query built from the task filters, and
//! the page it answers, decoded leniently.
//!
//! Every task field is optional and decoded as a [`Field`]: a missing or
//! null field, or one of an unexpected JSON type, keeps the task and only
//! leaves out the metrics that need it. Unknown fields are ignored. An
//! element of `tasks` that is not an object is skipped. Only the envelope
//! (`tasks` not a list, `pagination` missing or mistyped) fails the page.

use serde::Deserialize;

use serde::de::SeqAccess;

use super::field::{self, Capped, Element, Field, Lenient};

use super::client::{Endpoint, Session};
use super::error::ApiError;
use super::pager::{self, Page, Pagination};
use super::report::ApiPath;

/// One space filter (`--space-id`, `--space-name`); each one is polled on
/// its own and labels what it finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpaceFilter {
    /// Sent as `space_id`.
    Id(String),
    /// A substring of the space name, sent as `space_name`.
    Name(String),
}

impl SpaceFilter {
    /// The value of the `space` label on what this filter found: the id or
    /// the name given.
    pub fn label(&self) -> &str {
        match self {
            SpaceFilter::Id(value) | SpaceFilter::Name(value) => value,
        }
    }
}

/// Which tasks are polled: the query of `GET /v2/tasks` (see [`query`]).
/// Each value is 1 to 255 characters, as the configuration checks.
#[derive(Clone, Debug, Default)]
pub struct TaskFilters {
    /// In the order given across `--space-id` and `--space-name`; empty:
    /// every space the key sees, in one listing.
    pub spaces: Vec<SpaceFilter>,
    /// `name`: a case-insensitive substring of the task name.
    pub name: Option<String>,
    pub project_id: Option<String>,
    pub dataset_id: Option<String>,
    /// `type`, upper-case, as the current SDKs send it.
    pub task_type: Option<String>,
}

impl TaskFilters {
    /// Whether any filter narrows the listing (an empty answer then more
    /// likely means a mistyped filter than an empty account).
    pub fn narrows(&self) -> bool {
        !self.spaces.is_empty()
            || self.name.is_some()
            || self.project_id.is_some()
            || self.dataset_id.is_some()
            || self.task_type.is_some()
    }
}

/// The path template of the endpoint, as the `endpoint` metric label.
pub const PATH: &str = ApiPath::Tasks.as_str();

/// `GET /v2/tasks`.
pub fn endpoint() -> Endpoint {
    Endpoint::new(ApiPath::Tasks, ["v2", "tasks"])
}

/// The query parameters for `filters`, narrowed to one space filter when
/// given: `name`, `project_id`, `dataset_id`, `type` (upper-case, as the
/// current SDKs send it) and `space_id` or `space_name`.
pub fn query<'a>(
    filters: &'a TaskFilters,
    space: Option<&'a SpaceFilter>,
) -> Vec<(&'static str, &'a str)> {
    let mut query = Vec::new();
    for (name, value) in [
        ("name", &filters.name),
        ("project_id", &filters.project_id),
        ("dataset_id", &filters.dataset_id),
        ("type", &filters.task_type),
    ] {
        if let Some(value) = value {
            query.push((name, value.as_str()));
        }
    }
    match space {
        Some(SpaceFilter::Id(id)) => query.push(("space_id", id)),
        Some(SpaceFilter::Name(name)) => query.push(("space_name", name)),
        None => {}
    }
    query
}

/// Every page of the tasks `filters` select within one space filter (or
/// all spaces), `page_size` tasks a page, each page handed to `on_page` in
/// order (see [`pager::for_each_page`]).
pub async fn for_each_page(
    session: &Session<'_>,
    filters: &TaskFilters,
    space: Option<&SpaceFilter>,
    page_size: u32,
    on_page: impl FnMut(Vec<Task>),
) -> Result<(), ApiError> {
    pager::for_each_page::<TaskPage>(
        session,
        &endpoint(),
        &query(filters, space),
        page_size,
        on_page,
    )
    .await
}

/// A page of `GET /v2/tasks`: `{"tasks": [...], "pagination": {...}}`.
#[derive(Debug, Deserialize)]
pub struct TaskPage {
    pub tasks: Vec<Element<Task>>,
    pub pagination: Pagination,
}

impl Page for TaskPage {
    type Item = Task;
    fn into_parts(self) -> (Vec<Task>, Pagination) {
        (field::items(self.tasks, "tasks"), self.pagination)
    }
}

/// A task as the API returns it, each field as sent (see [`Field`]).
/// Timestamps stay strings here: one that does not parse is treated as
/// missing for its task, never as a failed page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Task {
    pub id: Field<String>,
    pub name: Field<String>,
    #[serde(rename = "type")]
    pub task_type: Field<String>,
    pub project_id: Field<String>,
    pub dataset_id: Field<String>,
    /// 0 to 1; an integer (`1`) or a float (`0.25`).
    pub sampling_rate: Field<f64>,
    pub is_continuous: Field<bool>,
    /// The evaluators the task runs (each with its id, name and version).
    pub evaluators: Field<Evaluators>,
    /// RFC 3339; null: never ran.
    pub last_run_at: Field<String>,
    pub created_at: Field<String>,
    pub updated_at: Field<String>,
    pub created_by_user_id: Field<String>,
}

/// The longest evaluator name kept, in bytes (a label value, cut further
/// to `--max-label-value-length` characters).
pub const MAX_EVALUATOR_NAME_BYTES: usize = 1024;

/// A task's `evaluators` list: the elements that are objects, and how many
/// elements the list had (`arize_task_evaluators` counts them all).
#[derive(Debug, Default, PartialEq)]
pub struct Evaluators {
    pub items: Vec<TaskEvaluator>,
    pub len: usize,
}

impl Lenient for Evaluators {
    const EXPECTED: &'static str = "a list";
    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut evaluators = Evaluators::default();
        while let Some(element) = seq.next_element::<Element<TaskEvaluator>>()? {
            evaluators.len += 1;
            if let Element::Item(item) = element {
                evaluators.items.push(item);
            }
        }
        Ok(Some(evaluators))
    }
}

/// One evaluator of a task, as sent (the fields the exporter reads).
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct TaskEvaluator {
    pub evaluator_id: Field<String>,
    pub evaluator_name: Field<Capped<MAX_EVALUATOR_NAME_BYTES>>,
    /// Null: the evaluator's latest version runs; set: pinned to it.
    pub evaluator_version_id: Field<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_each_filter_and_the_space() {
        let filters = TaskFilters {
            spaces: vec![],
            name: Some("hallucination".into()),
            project_id: None,
            dataset_id: Some("d".into()),
            task_type: Some("CODE_EVALUATION".into()),
        };
        assert_eq!(
            query(&filters, Some(&SpaceFilter::Name("Prod".into()))),
            [
                ("name", "hallucination"),
                ("dataset_id", "d"),
                ("type", "CODE_EVALUATION"),
                ("space_name", "Prod")
            ]
        );
        assert_eq!(
            query(&TaskFilters::default(), Some(&SpaceFilter::Id("s".into()))),
            [("space_id", "s")]
        );
    }

    #[test]
    fn nulls_missing_and_unknown_fields_keep_the_task() {
        let page: TaskPage = serde_json::from_str(
            r#"{"tasks":[{"id":"a","type":null,"sampling_rate":null,"evaluators":null,
                "surprise":{"x":[1,2]},"last_run_at":null},{}],"pagination":{"has_more":false}}"#,
        )
        .unwrap();
        let (tasks, _) = page.into_parts();
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].id, Field::Value("a".to_owned()));
        assert!(tasks[0].task_type == Field::Absent && tasks[1].id == Field::Absent);
    }

    #[test]
    fn integer_and_float_sampling_rates_both_decode() {
        let page: TaskPage = serde_json::from_str(
            r#"{"tasks":[{"sampling_rate":1},{"sampling_rate":0.25}],"pagination":{"has_more":true,"next_cursor":"c"}}"#,
        )
        .unwrap();
        let (tasks, pagination) = page.into_parts();
        assert_eq!(tasks[0].sampling_rate, Field::Value(1.0));
        assert_eq!(tasks[1].sampling_rate, Field::Value(0.25));
        assert_eq!(pagination.next_cursor.as_deref(), Some("c"));
    }

    #[test]
    fn only_a_wrong_envelope_is_an_error() {
        for envelope in [
            r#"{"pagination":{"has_more":false}}"#,
            r#"{"tasks":{},"pagination":{"has_more":false}}"#,
            r#"{"tasks":"none","pagination":{"has_more":false}}"#,
            r#"{"tasks":[]}"#,
            r#"{"tasks":[],"pagination":[]}"#,
            r#"{"tasks":[],"pagination":{}}"#,
            r#"{"tasks":[],"pagination":{"has_more":"no"}}"#,
            r#"{"tasks":[],"pagination":{"has_more":true,"next_cursor":7}}"#,
            r#"{"tasks":[],"pagination":[false]}"#,
        ] {
            assert!(
                serde_json::from_str::<TaskPage>(envelope).is_err(),
                "{envelope}"
            );
        }
        let page: TaskPage = serde_json::from_str(
            r#"{"tasks":[{"is_continuous":"yes","sampling_rate":"0.5"},"junk"],"pagination":{"has_more":false}}"#,
        )
        .unwrap();
        let (tasks, _) = page.into_parts();
        assert_eq!(tasks.len(), 1);
        assert_eq!(
            tasks[0].is_continuous.mistyped(),
            Some(field::JsonKind::String)
        );
    }

    #[test]
    fn evaluators_are_read_with_their_version_and_non_objects_counted_only() {
        let page: TaskPage = serde_json::from_str(
            r#"{"tasks":[{"evaluators":[{"evaluator_id":"e","evaluator_name":"Correctness",
                "evaluator_version_id":"v","column_mappings":{}},{"evaluator_id":"f","evaluator_version_id":null},7]}],
                "pagination":{"has_more":false}}"#,
        )
        .unwrap();
        let (tasks, _) = page.into_parts();
        let evaluators = tasks[0].evaluators.as_value().unwrap();
        assert_eq!((evaluators.len, evaluators.items.len()), (3, 2));
        assert_eq!(
            evaluators.items[0].evaluator_version_id,
            Field::Value("v".into())
        );
        assert_eq!(evaluators.items[1].evaluator_name, Field::Absent);
    }
}

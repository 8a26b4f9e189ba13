//! The names endpoints (`GET /v2/spaces`, `/v2/projects`, `/v2/datasets`):
//! the items they list, the catalogue derived from a task set, and their
//! handlers. Shapes of the SDK's `Space`, `Project` and `Dataset` models.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use time::macros::datetime;
use time::OffsetDateTime;

use crate::encode::{fnv1a, opaque_id, rfc3339_millis};
use crate::task::{SimTask, PROJECT_TYPES};
use crate::{
    bad_request, first_param, page_request, paginate, pagination, parse_query, play, problem, raw,
    BadRequest, Endpoint, Shared, MAX_FILTER_CHARS,
};

/// The `organization_id` of every space [`SimSpace::new`] makes.
pub fn organization_id() -> String {
    opaque_id("Organization", 1)
}

/// Raw changes to an item's served JSON: `Some(value)` sets (or adds) a
/// field with any JSON value, `None` removes it; applied last, in order.
type Overrides = Vec<(String, Option<Value>)>;

fn apply(mut obj: Map<String, Value>, overrides: &Overrides) -> Value {
    for (key, value) in overrides {
        match value {
            Some(value) => obj.insert(key.clone(), value.clone()),
            None => obj.remove(key),
        };
    }
    Value::Object(obj)
}

fn text(value: &Option<String>) -> Value {
    value
        .as_ref()
        .map_or(Value::Null, |s| Value::String(s.clone()))
}

/// A date in 2025 picked from `id` (creation times of names).
fn created_from(id: &str) -> OffsetDateTime {
    let h = fnv1a(id.as_bytes());
    datetime!(2025-03-03 08:00:00 UTC)
        + time::Duration::days((h % 280) as i64)
        + time::Duration::seconds(((h >> 9) % 86_400) as i64)
}

/// One space of `GET /v2/spaces`. Served by [`SimSpace::to_json`] with
/// `id`, `organization_id`, `name`, `description`, `created_at`,
/// `is_private` (absent values null).
#[derive(Clone, Debug)]
pub struct SimSpace {
    pub id: String,
    /// Free text; the `name` filter is a case-insensitive substring of it.
    pub name: String,
    /// Older servers omit it (`without_field("organization_id")`).
    pub organization_id: Option<String>,
    pub description: Option<String>,
    pub created_at: OffsetDateTime,
    pub is_private: bool,
    /// Raw changes applied last ([`SimSpace::with_field`]).
    pub overrides: Vec<(String, Option<Value>)>,
}

impl SimSpace {
    /// A well-formed space of the organization [`organization_id`],
    /// public, created at a date derived from `id`.
    pub fn new(id: &str, name: &str) -> SimSpace {
        SimSpace {
            id: id.to_owned(),
            name: name.to_owned(),
            organization_id: Some(organization_id()),
            description: Some(format!("Tasks, projects and datasets of {name}")),
            created_at: created_from(id),
            is_private: false,
            overrides: Vec::new(),
        }
    }

    /// Set one field of the served JSON to any value (e.g. `name` null).
    pub fn with_field(mut self, key: &str, value: Value) -> SimSpace {
        self.overrides.push((key.to_owned(), Some(value)));
        self
    }

    /// Leave one field out of the served JSON.
    pub fn without_field(mut self, key: &str) -> SimSpace {
        self.overrides.push((key.to_owned(), None));
        self
    }

    /// The space object as served.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::with_capacity(6);
        obj.insert("id".into(), self.id.clone().into());
        obj.insert("organization_id".into(), text(&self.organization_id));
        obj.insert("name".into(), self.name.clone().into());
        obj.insert("description".into(), text(&self.description));
        obj.insert("created_at".into(), rfc3339_millis(self.created_at).into());
        obj.insert("is_private".into(), self.is_private.into());
        apply(obj, &self.overrides)
    }
}

/// One project of `GET /v2/projects`: `id`, `name`, `space_id`,
/// `created_at`, `project_type`.
#[derive(Clone, Debug)]
pub struct SimProject {
    pub id: String,
    pub name: String,
    pub space_id: String,
    pub created_at: OffsetDateTime,
    /// One of [`PROJECT_TYPES`], or `None` (served null: an untyped
    /// project). Any other string is served verbatim (off schema).
    pub project_type: Option<String>,
    /// Raw changes applied last ([`SimProject::with_field`]).
    pub overrides: Vec<(String, Option<Value>)>,
}

impl SimProject {
    /// A well-formed `APPLICATION` project in the space `space_id`.
    pub fn new(id: &str, name: &str, space_id: &str) -> SimProject {
        SimProject {
            id: id.to_owned(),
            name: name.to_owned(),
            space_id: space_id.to_owned(),
            created_at: created_from(id),
            project_type: Some(PROJECT_TYPES[0].to_owned()),
            overrides: Vec::new(),
        }
    }

    /// Set `project_type` (`None`: null).
    pub fn with_project_type(mut self, project_type: Option<&str>) -> SimProject {
        self.project_type = project_type.map(str::to_owned);
        self
    }

    /// Set one field of the served JSON to any value.
    pub fn with_field(mut self, key: &str, value: Value) -> SimProject {
        self.overrides.push((key.to_owned(), Some(value)));
        self
    }

    /// Leave one field out of the served JSON.
    pub fn without_field(mut self, key: &str) -> SimProject {
        self.overrides.push((key.to_owned(), None));
        self
    }

    /// The project object as served.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::with_capacity(5);
        obj.insert("id".into(), self.id.clone().into());
        obj.insert("name".into(), self.name.clone().into());
        obj.insert("space_id".into(), self.space_id.clone().into());
        obj.insert("created_at".into(), rfc3339_millis(self.created_at).into());
        obj.insert("project_type".into(), text(&self.project_type));
        apply(obj, &self.overrides)
    }
}

/// One dataset of `GET /v2/datasets`: `id`, `name`, `space_id`,
/// `created_at`, `updated_at`, and `versions` (an empty list: lists do
/// not fill it in).
#[derive(Clone, Debug)]
pub struct SimDataset {
    pub id: String,
    pub name: String,
    pub space_id: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Raw changes applied last ([`SimDataset::with_field`]).
    pub overrides: Vec<(String, Option<Value>)>,
}

impl SimDataset {
    /// A well-formed dataset in the space `space_id`.
    pub fn new(id: &str, name: &str, space_id: &str) -> SimDataset {
        let created_at = created_from(id);
        let h = fnv1a(id.as_bytes());
        SimDataset {
            id: id.to_owned(),
            name: name.to_owned(),
            space_id: space_id.to_owned(),
            created_at,
            updated_at: created_at + time::Duration::hours(1 + (h >> 5) as i64 % 2000),
            overrides: Vec::new(),
        }
    }

    /// Set one field of the served JSON to any value.
    pub fn with_field(mut self, key: &str, value: Value) -> SimDataset {
        self.overrides.push((key.to_owned(), Some(value)));
        self
    }

    /// Leave one field out of the served JSON.
    pub fn without_field(mut self, key: &str) -> SimDataset {
        self.overrides.push((key.to_owned(), None));
        self
    }

    /// The dataset object as served.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::with_capacity(6);
        obj.insert("id".into(), self.id.clone().into());
        obj.insert("name".into(), self.name.clone().into());
        obj.insert("space_id".into(), self.space_id.clone().into());
        obj.insert("created_at".into(), rfc3339_millis(self.created_at).into());
        obj.insert("updated_at".into(), rfc3339_millis(self.updated_at).into());
        obj.insert("versions".into(), Value::Array(Vec::new()));
        apply(obj, &self.overrides)
    }
}

/// What the three names endpoints list, each in this order.
#[derive(Clone, Debug, Default)]
pub struct SimNames {
    pub spaces: Vec<SimSpace>,
    pub projects: Vec<SimProject>,
    pub datasets: Vec<SimDataset>,
}

const PROJECT_WORDS: [&str; 8] = [
    "Support Chatbot",
    "Search Assistant",
    "Claims Triage",
    "Docs Q&A",
    "Sales Copilot",
    "Onboarding Agent",
    "Ticket Summarizer",
    "Code Review Bot",
];

/// A readable name for an item without one, from its id.
fn default_name(kind: &str, id: &str) -> String {
    let h = fnv1a(id.as_bytes());
    let word = PROJECT_WORDS[(h % PROJECT_WORDS.len() as u64) as usize];
    format!("{word} {kind} {:03}", (h >> 8) % 1000)
}

/// The catalogue a task set implies: every task's space (first seen
/// first, named as the task says), every string `project_id` as a project
/// and every string `dataset_id` as a dataset in the space of the first
/// task that names it, each once, in task order. A task with
/// [`crate::TaskNames::unlisted`] adds neither (its space still counts).
/// [`crate::Simulator::start`] and [`crate::Simulator::set_tasks`] serve
/// this; [`crate::Simulator::set_names`] replaces it.
pub fn names_of(tasks: &[SimTask]) -> SimNames {
    let mut names = SimNames::default();
    let (mut spaces, mut projects, mut datasets) = (HashSet::new(), HashSet::new(), HashSet::new());
    for task in tasks {
        if spaces.insert(task.space_id.as_str()) {
            names
                .spaces
                .push(SimSpace::new(&task.space_id, &task.space_name));
        }
        if task.names.unlisted {
            continue;
        }
        let id_of = |key: &str| task.json.get(key).and_then(Value::as_str);
        if let Some(id) = id_of("project_id") {
            if projects.insert(id) {
                let name = task
                    .names
                    .project_name
                    .clone()
                    .unwrap_or_else(|| default_name("Project", id));
                names.projects.push(
                    SimProject::new(id, &name, &task.space_id)
                        .with_project_type(task.names.project_type.as_deref()),
                );
            }
        }
        if let Some(id) = id_of("dataset_id") {
            if datasets.insert(id) {
                let name = task
                    .names
                    .dataset_name
                    .clone()
                    .unwrap_or_else(|| default_name("Dataset", id));
                names
                    .datasets
                    .push(SimDataset::new(id, &name, &task.space_id));
            }
        }
    }
    names
}

/// The filters of the names endpoints, checked against the catalogue.
struct NameFilter {
    /// lower-cased substring of the item's name
    name: Option<String>,
    /// spaces: `org_id`
    org_id: Option<String>,
    /// projects and datasets: the spaces the `space_id` / `space_name`
    /// filters leave (`None`: no space filter)
    spaces: Option<HashSet<String>>,
    /// projects: `project_type`, upper-cased
    project_type: Option<String>,
}

/// Either a 400 or a 404 answer.
enum Refused {
    Bad(BadRequest),
    NotFound(String),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Bad(bad) => bad.into_response(),
            Refused::NotFound(detail) => problem(404, "Not Found", &detail, None),
        }
    }
}

impl NameFilter {
    fn from_query(
        query: &[(String, String)],
        endpoint: Endpoint,
        names: &SimNames,
    ) -> Result<NameFilter, Refused> {
        let bounded = |param: &str| -> Result<Option<String>, Refused> {
            match first_param(query, param) {
                Some(value) if value.chars().count() > MAX_FILTER_CHARS => {
                    Err(Refused::Bad(bad_request(&format!(
                        "{param} must be at most {MAX_FILTER_CHARS} characters"
                    ))))
                }
                value => Ok(value.map(str::to_lowercase)),
            }
        };
        let mut filter = NameFilter {
            name: bounded("name")?,
            org_id: None,
            spaces: None,
            project_type: None,
        };
        if endpoint == Endpoint::Spaces {
            filter.org_id = first_param(query, "org_id").map(str::to_owned);
            return Ok(filter);
        }
        let space_id = first_param(query, "space_id");
        let space_name = bounded("space_name")?;
        if space_id.is_some() || space_name.is_some() {
            let kept: HashSet<String> = names
                .spaces
                .iter()
                .filter(|space| space_id.is_none_or(|id| id == space.id))
                .filter(|space| {
                    space_name
                        .as_ref()
                        .is_none_or(|wanted| space.name.to_lowercase().contains(wanted.as_str()))
                })
                .map(|space| space.id.clone())
                .collect();
            // The API answers 404 for a filtered space that does not exist
            // (or that the key may not read).
            if kept.is_empty() {
                return Err(Refused::NotFound(
                    "No space matches the space_id / space_name filter".to_owned(),
                ));
            }
            filter.spaces = Some(kept);
        }
        if endpoint == Endpoint::Projects {
            if let Some(wanted) = first_param(query, "project_type") {
                let Some(known) = PROJECT_TYPES
                    .iter()
                    .find(|t| t.eq_ignore_ascii_case(wanted))
                else {
                    return Err(Refused::Bad(bad_request(&format!(
                        "project_type must be one of {}",
                        PROJECT_TYPES.join(", ")
                    ))));
                };
                filter.project_type = Some((*known).to_owned());
            }
        }
        Ok(filter)
    }

    fn name_matches(&self, name: &str) -> bool {
        self.name
            .as_ref()
            .is_none_or(|wanted| name.to_lowercase().contains(wanted.as_str()))
    }

    fn space_matches(&self, space_id: &str) -> bool {
        self.spaces
            .as_ref()
            .is_none_or(|kept| kept.contains(space_id))
    }
}

/// `GET /v2/spaces`, `/v2/projects`, `/v2/datasets`: scripted answer
/// first, then `limit` / `cursor` and the endpoint's filters over the
/// current catalogue.
pub(crate) async fn list_names(
    shared: &Shared,
    uri: &Uri,
    endpoint: Endpoint,
) -> Result<Response, Response> {
    let scripted = shared.pop_scripted(endpoint);
    let change = play(scripted).await?;
    let query = parse_query(uri.query().unwrap_or(""));
    let resource = endpoint.resource();
    let (start, limit) = page_request(&query, resource).map_err(IntoResponse::into_response)?;
    let limit = limit.min(shared.page_cap());
    let names = shared.names.load_full();
    let filter =
        NameFilter::from_query(&query, endpoint, &names).map_err(IntoResponse::into_response)?;
    let (items, next) = match endpoint {
        Endpoint::Spaces => {
            let (page, next) = paginate(&names.spaces, start, limit, |space| {
                filter.name_matches(&space.name)
                    && filter
                        .org_id
                        .as_ref()
                        .is_none_or(|org| space.organization_id.as_ref() == Some(org))
            });
            (page.iter().map(|s| s.to_json()).collect(), next)
        }
        Endpoint::Projects => {
            let (page, next) = paginate(&names.projects, start, limit, |project| {
                filter.name_matches(&project.name)
                    && filter.space_matches(&project.space_id)
                    && filter
                        .project_type
                        .as_ref()
                        .is_none_or(|wanted| project.project_type.as_ref() == Some(wanted))
            });
            (page.iter().map(|p| p.to_json()).collect(), next)
        }
        Endpoint::Datasets => {
            let (page, next) = paginate(&names.datasets, start, limit, |dataset| {
                filter.name_matches(&dataset.name) && filter.space_matches(&dataset.space_id)
            });
            (page.iter().map(|d| d.to_json()).collect(), next)
        }
        Endpoint::Tasks | Endpoint::Runs => (Vec::new(), None),
    };
    let mut body = Map::with_capacity(2);
    body.insert(resource.to_owned(), Value::Array(items));
    let pagination = pagination(change, next, &query, resource);
    match serde_json::to_value(pagination) {
        Ok(value) => body.insert("pagination".to_owned(), value),
        Err(error) => {
            return Err(problem(
                500,
                "Internal Server Error",
                &error.to_string(),
                None,
            ))
        }
    };
    match serde_json::to_vec(&body) {
        Ok(bytes) => Ok(raw(200, "application/json", bytes)),
        Err(error) => Err(problem(
            500,
            "Internal Server Error",
            &error.to_string(),
            None,
        )),
    }
}

async fn answer(shared: Arc<Shared>, uri: Uri, endpoint: Endpoint) -> Response {
    list_names(&shared, &uri, endpoint)
        .await
        .unwrap_or_else(|refused| refused)
}

pub(crate) async fn list_spaces(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    answer(shared, uri, Endpoint::Spaces).await
}

pub(crate) async fn list_projects(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    answer(shared, uri, Endpoint::Projects).await
}

pub(crate) async fn list_datasets(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    answer(shared, uri, Endpoint::Datasets).await
}

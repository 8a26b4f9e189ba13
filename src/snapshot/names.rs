//! Where each task lives, by name: the spaces, projects and datasets read
//! every `--names-refresh-interval` (section 3.2 of the specification).
//!
//! A task carries only opaque ids (`project_id`, `dataset_id`) and no
//! space. Its space is its project's `space_id`, else its dataset's; the
//! names come from the three listings. Each listing is kept on its own:
//! one that fails keeps what was read before, and one never read is empty
//! (`None`), so a task whose project is not known has empty names, never a
//! missing series.

use std::collections::BTreeMap;
use std::sync::Arc;

/// A space: `GET /v2/spaces`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpaceName {
    /// `name`; free text (escape it), at most 1 KiB.
    pub name: Box<str>,
    /// `organization_id`; empty when not sent (older servers).
    pub organization_id: Box<str>,
}

/// A project: `GET /v2/projects`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectName {
    pub name: Box<str>,
    /// `space_id`; empty when not sent.
    pub space_id: Box<str>,
    /// `project_type`, lower case (`application`, `harness`,
    /// `experiment`, or a new value); empty when null.
    pub project_type: Box<str>,
}

/// A dataset: `GET /v2/datasets`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatasetName {
    pub name: Box<str>,
    /// `space_id`; empty when not sent.
    pub space_id: Box<str>,
}

/// The names read so far, by id, each listing from its last complete read;
/// `None`: never read (or names are off, `--names-refresh-interval 0`).
/// Shared by every snapshot published until the next read changes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    pub spaces: Option<Arc<BTreeMap<Box<str>, SpaceName>>>,
    pub projects: Option<Arc<BTreeMap<Box<str>, ProjectName>>>,
    pub datasets: Option<Arc<BTreeMap<Box<str>, DatasetName>>>,
}

/// Where one task lives: each value empty while unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Place<'a> {
    pub space_id: &'a str,
    pub space_name: &'a str,
    pub project_name: &'a str,
    pub dataset_name: &'a str,
}

impl Names {
    /// Where the task of `project_id` and `dataset_id` lives: its space is
    /// its project's, else its dataset's.
    pub fn place(&self, project_id: Option<&str>, dataset_id: Option<&str>) -> Place<'_> {
        let project = project_id
            .zip(self.projects.as_deref())
            .and_then(|(id, projects)| projects.get(id));
        let dataset = dataset_id
            .zip(self.datasets.as_deref())
            .and_then(|(id, datasets)| datasets.get(id));
        let space_id = [project.map(|p| &*p.space_id), dataset.map(|d| &*d.space_id)]
            .into_iter()
            .flatten()
            .find(|id| !id.is_empty())
            .unwrap_or_default();
        let space_name = self
            .spaces
            .as_deref()
            .and_then(|spaces| spaces.get(space_id))
            .map_or("", |s| &*s.name);
        Place {
            space_id,
            space_name,
            project_name: project.map_or("", |p| &*p.name),
            dataset_name: dataset.map_or("", |d| &*d.name),
        }
    }

    /// Whether any listing has been read (the name families are served).
    pub fn any_read(&self) -> bool {
        self.spaces.is_some() || self.projects.is_some() || self.datasets.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map<T>(entries: Vec<(&str, T)>) -> Option<Arc<BTreeMap<Box<str>, T>>> {
        Some(Arc::new(
            entries.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
    }

    #[test]
    fn a_task_is_placed_by_its_project_else_its_dataset() {
        let names = Names {
            spaces: map(vec![(
                "s1",
                SpaceName {
                    name: "Prod".into(),
                    ..Default::default()
                },
            )]),
            projects: map(vec![(
                "p",
                ProjectName {
                    name: "Chat".into(),
                    space_id: "s1".into(),
                    ..Default::default()
                },
            )]),
            datasets: map(vec![(
                "d",
                DatasetName {
                    name: "Golden".into(),
                    space_id: "s2".into(),
                },
            )]),
        };
        let by_project = names.place(Some("p"), Some("d"));
        assert_eq!(
            (
                by_project.space_id,
                by_project.space_name,
                by_project.project_name,
                by_project.dataset_name
            ),
            ("s1", "Prod", "Chat", "Golden")
        );
        let by_dataset = names.place(None, Some("d"));
        assert_eq!((by_dataset.space_id, by_dataset.space_name), ("s2", ""));
        assert_eq!(names.place(Some("unknown"), None), Place::default());
        assert_eq!(
            Names::default().place(Some("p"), Some("d")),
            Place::default()
        );
    }
}

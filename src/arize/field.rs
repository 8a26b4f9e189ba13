//! Field-level tolerance, for every endpoint: the API is pre-release and
//! its shapes drift, so one surprising field must cost that field, never the
//! item or the page.
//!
//! [`Field`] decodes a value of the expected JSON type, and records any
//! other type (a string where a number belongs, a list where a string
//! belongs, ...) as [`Field::Mistyped`] instead of failing; the caller
//! treats it as missing and reports it once. [`Element`] does the same for
//! the items of a list: an item that is not an object is skipped. Both are
//! plain serde visitors: one pass over the input, nothing buffered.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::marker::PhantomData;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The JSON type of a value that was not the expected one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonKind {
    Bool,
    Number,
    String,
    List,
    Object,
}

impl JsonKind {
    /// `a string`, `an object`, ...: for log lines.
    pub fn with_article(self) -> &'static str {
        match self {
            JsonKind::Bool => "a bool",
            JsonKind::Number => "a number",
            JsonKind::String => "a string",
            JsonKind::List => "a list",
            JsonKind::Object => "an object",
        }
    }
}

/// One field of an item, decoded leniently.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Field<T> {
    /// Not sent, or `null`.
    #[default]
    Absent,
    /// A value of the expected type.
    Value(T),
    /// A value of another JSON type: counts as missing.
    Mistyped(JsonKind),
}

impl<T> Field<T> {
    /// The value, if one of the expected type was sent.
    pub fn value(self) -> Option<T> {
        match self {
            Field::Value(value) => Some(value),
            _ => None,
        }
    }

    /// The value by reference, if one of the expected type was sent.
    pub fn as_value(&self) -> Option<&T> {
        match self {
            Field::Value(value) => Some(value),
            _ => None,
        }
    }

    /// The JSON type sent instead of the expected one, if any.
    pub fn mistyped(&self) -> Option<JsonKind> {
        match self {
            Field::Mistyped(kind) => Some(*kind),
            _ => None,
        }
    }
}

/// A type a [`Field`] can hold: which JSON values it accepts. Every method
/// refuses by default, so each type says only what it takes.
pub trait Lenient: Sized {
    /// What the field should hold, for log lines (`a string`).
    const EXPECTED: &'static str;

    fn from_bool(_value: bool) -> Option<Self> {
        None
    }
    fn from_f64(_value: f64) -> Option<Self> {
        None
    }
    fn from_str(_value: &str) -> Option<Self> {
        None
    }
    /// A list: the default drains it and refuses it.
    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

impl Lenient for String {
    const EXPECTED: &'static str = "a string";
    fn from_str(value: &str) -> Option<Self> {
        Some(value.to_owned())
    }
}

impl Lenient for f64 {
    const EXPECTED: &'static str = "a number";
    fn from_f64(value: f64) -> Option<Self> {
        value.is_finite().then_some(value)
    }
}

/// A count of items: a whole, non-negative number (`12`, or `12.0` as some
/// encoders write it). A negative or fractional number is refused.
impl Lenient for u64 {
    const EXPECTED: &'static str = "a whole number of at least 0";
    fn from_f64(value: f64) -> Option<Self> {
        (value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < 1.8e19)
            .then_some(value as u64)
    }
}

impl Lenient for bool {
    const EXPECTED: &'static str = "a bool";
    fn from_bool(value: bool) -> Option<Self> {
        Some(value)
    }
}

/// Free text kept to at most `MAX` bytes (cut at a character boundary):
/// the API's free-text fields (a run's `failure_reason`) have no published
/// bound, and the exporter keeps one per task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capped<const MAX: usize> {
    /// The text, or its first `MAX` bytes at most.
    pub text: String,
    /// Whether the text was longer and was cut.
    pub cut: bool,
}

impl<const MAX: usize> Lenient for Capped<MAX> {
    const EXPECTED: &'static str = "a string";
    fn from_str(value: &str) -> Option<Self> {
        let mut end = value.len().min(MAX);
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        Some(Capped {
            text: value[..end].to_owned(),
            cut: end < value.len(),
        })
    }
}

/// The number of elements of a list, whatever they hold (a task's
/// `evaluators`, whose contents the exporter does not read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count(pub usize);

impl Lenient for Count {
    const EXPECTED: &'static str = "a list";
    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut n = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(Some(Count(n)))
    }
}

impl<'de, T: Lenient> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor(PhantomData))
    }
}

struct FieldVisitor<T>(PhantomData<T>);

impl<T> FieldVisitor<T> {
    fn take(value: Option<T>, kind: JsonKind) -> Field<T> {
        value.map_or(Field::Mistyped(kind), Field::Value)
    }
}

impl<'de, T: Lenient> Visitor<'de> for FieldVisitor<T> {
    type Value = Field<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Field<T>, E> {
        Ok(Field::Absent)
    }
    fn visit_none<E>(self) -> Result<Field<T>, E> {
        Ok(Field::Absent)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Field<T>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Field<T>, E> {
        Ok(Self::take(T::from_bool(v), JsonKind::Bool))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Field<T>, E> {
        Ok(Self::take(T::from_f64(v as f64), JsonKind::Number))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Field<T>, E> {
        Ok(Self::take(T::from_f64(v as f64), JsonKind::Number))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Field<T>, E> {
        Ok(Self::take(T::from_f64(v), JsonKind::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Field<T>, E> {
        Ok(Self::take(T::from_str(v), JsonKind::String))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Field<T>, A::Error> {
        Ok(Self::take(T::from_seq(seq)?, JsonKind::List))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Mistyped(JsonKind::Object))
    }
}

/// One item of a list: an object decoded as `T`, or anything else, skipped.
#[derive(Debug)]
pub enum Element<T> {
    Item(T),
    /// Not an object (`null`, a string, a list, ...): what it was.
    Skipped(&'static str),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Element<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ElementVisitor(PhantomData))
    }
}

struct ElementVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ElementVisitor<T> {
    type Value = Element<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list item")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Element<T>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Element::Item)
    }
    fn visit_unit<E>(self) -> Result<Element<T>, E> {
        Ok(Element::Skipped("null"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Element<T>, E> {
        Ok(Element::Skipped(JsonKind::Bool.with_article()))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Element<T>, E> {
        Ok(Element::Skipped(JsonKind::Number.with_article()))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Element<T>, E> {
        Ok(Element::Skipped(JsonKind::Number.with_article()))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Element<T>, E> {
        Ok(Element::Skipped(JsonKind::Number.with_article()))
    }
    fn visit_str<E>(self, _: &str) -> Result<Element<T>, E> {
        Ok(Element::Skipped(JsonKind::String.with_article()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Element::Skipped(JsonKind::List.with_article()))
    }
}

/// `T` (a derived struct) read from a JSON object only. serde's derived
/// structs also accept a list of their fields in order, which would read
/// `"pagination": [false]` as a last page, or `[[], {...}]` as a page: an
/// envelope is an object or it is not the expected shape.
#[derive(Debug)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(Object)
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// The items of a decoded list, each skipped element logged once here with
/// the list it was in (`tasks`, `task_runs`).
pub fn items<T>(elements: Vec<Element<T>>, list: &str) -> Vec<T> {
    let mut items = Vec::with_capacity(elements.len());
    for element in elements {
        match element {
            Element::Item(item) => items.push(item),
            Element::Skipped(what) => tracing::warn!(
                list,
                element = what,
                "an element of the list is not an object; skipped"
            ),
        }
    }
    items
}

/// A timestamp field, read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Time {
    /// Not sent, null, or a placeholder before the Unix epoch
    /// (`0001-01-01T00:00:00Z`).
    Absent,
    /// Unix seconds.
    At(f64),
    /// Sent, but not an RFC 3339 string: unknown.
    Unreadable,
}

impl Time {
    /// Reads an RFC 3339 timestamp; a time before the Unix epoch is a
    /// placeholder and counts as [`Time::Absent`]. Nothing is logged: see
    /// [`FieldWarnings::time`] for the reporting read.
    pub fn parse(text: &str) -> Time {
        match OffsetDateTime::parse(text, &Rfc3339) {
            Ok(t) if t.unix_timestamp() < 0 => Time::Absent,
            Ok(t) => Time::At(t.unix_timestamp_nanos() as f64 / 1e9),
            Err(_) => Time::Unreadable,
        }
    }

    /// A timestamp field read without reporting anything (see [`Time::parse`]).
    pub fn of(field: &Field<String>) -> Time {
        match field {
            Field::Absent => Time::Absent,
            Field::Value(text) => Time::parse(text),
            Field::Mistyped(_) => Time::Unreadable,
        }
    }

    /// Unix seconds, when known.
    pub fn seconds(self) -> Option<f64> {
        match self {
            Time::At(seconds) => Some(seconds),
            _ => None,
        }
    }
}

/// Reports each mistyped or unreadable field once per item and field, not
/// on every poll: the same bad value comes back every time. Items without
/// an id share one entry. The owner forgets the items that are gone (see
/// [`FieldWarnings::keep_only`]), so the memory is bounded by the items
/// present, not by every item ever seen.
#[derive(Default)]
pub struct FieldWarnings {
    warned: HashMap<String, HashSet<&'static str>>,
}

impl FieldWarnings {
    /// The value of `field` (named `name`) of the item `item_id`, warning
    /// once if it was of another JSON type.
    pub fn take<T: Lenient>(
        &mut self,
        item_id: Option<&str>,
        name: &'static str,
        field: Field<T>,
    ) -> Option<T> {
        match field {
            Field::Value(value) => Some(value),
            Field::Absent => None,
            Field::Mistyped(kind) => {
                self.warn_once(item_id, name, || {
                    format!(
                        "is {}, not {}; treating it as missing for this item",
                        kind.with_article(),
                        T::EXPECTED
                    )
                });
                None
            }
        }
    }

    /// The RFC 3339 timestamp `field` of the item `item_id`, warning once if
    /// it is mistyped or does not parse.
    pub fn time(
        &mut self,
        item_id: Option<&str>,
        name: &'static str,
        field: Field<String>,
    ) -> Time {
        let mistyped = field.mistyped().is_some();
        let Some(text) = self.take(item_id, name, field) else {
            return if mistyped {
                Time::Unreadable
            } else {
                Time::Absent
            };
        };
        match Time::parse(&text) {
            Time::Unreadable => {
                self.warn_once(item_id, name, || {
                    let e = OffsetDateTime::parse(&text, &Rfc3339)
                        .err()
                        .map_or_else(String::new, |e| e.to_string());
                    format!(
                        "{:?} is not an RFC 3339 time ({e}); treating it as missing for this item",
                        text.chars().take(64).collect::<String>()
                    )
                });
                Time::Unreadable
            }
            read => read,
        }
    }

    fn warn_once(
        &mut self,
        item_id: Option<&str>,
        field: &'static str,
        problem: impl FnOnce() -> String,
    ) {
        let key = item_id.unwrap_or_default().to_owned();
        if self.warned.entry(key).or_default().insert(field) {
            tracing::warn!(
                id = item_id.unwrap_or("(none)"),
                field,
                problem = %problem(),
                "a field the API sent is unusable"
            );
        }
    }

    /// Forgets every item whose id is not among `present` (ids of the
    /// items of a complete listing; `None` for an item without an id): an
    /// item that comes back later is warned about again. Costs one lookup
    /// per present item in the (small) set of items warned about.
    pub fn keep_only<'a>(&mut self, present: impl IntoIterator<Item = Option<&'a str>>) {
        if self.warned.is_empty() {
            return;
        }
        let mut kept = HashMap::new();
        for id in present {
            if let Some((key, fields)) = self.warned.remove_entry(id.unwrap_or_default()) {
                kept.insert(key, fields);
            }
            if self.warned.is_empty() {
                break;
            }
        }
        self.warned = kept;
    }

    /// How many items have a warning remembered.
    pub fn items(&self) -> usize {
        self.warned.len()
    }

    /// How many (item, field) pairs were reported.
    pub fn reported(&self) -> usize {
        self.warned.values().map(HashSet::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Item {
        name: Field<String>,
        rate: Field<f64>,
        on: Field<bool>,
        evaluators: Field<Count>,
    }

    fn item(json: &str) -> Item {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn expected_types_decode_and_null_or_missing_are_absent() {
        let it = item(r#"{"name":"n","rate":1,"on":true,"evaluators":[{},2,"x"]}"#);
        assert_eq!(it.name, Field::Value("n".to_owned()));
        assert_eq!(it.rate, Field::Value(1.0));
        assert_eq!(it.on, Field::Value(true));
        assert_eq!(it.evaluators, Field::Value(Count(3)));
        let it = item(r#"{"name":null}"#);
        assert_eq!((it.name, it.rate), (Field::Absent, Field::Absent));
    }

    #[test]
    fn every_other_json_type_is_mistyped_and_the_rest_survives() {
        let it = item(r#"{"name":{"a":[1]},"rate":"0.5","on":"yes","evaluators":{"x":1}}"#);
        assert_eq!(it.name.mistyped(), Some(JsonKind::Object));
        assert_eq!(it.rate.mistyped(), Some(JsonKind::String));
        assert_eq!(it.on.mistyped(), Some(JsonKind::String));
        assert_eq!(it.evaluators.mistyped(), Some(JsonKind::Object));
        let it = item(r#"{"name":7,"rate":[0.5],"on":1,"evaluators":"many"}"#);
        assert_eq!(it.name.mistyped(), Some(JsonKind::Number));
        assert_eq!(it.rate.mistyped(), Some(JsonKind::List));
        assert_eq!(it.on.mistyped(), Some(JsonKind::Number));
        assert_eq!(it.evaluators.mistyped(), Some(JsonKind::String));
        let it = item(r#"{"name":false,"rate":true}"#);
        assert_eq!(it.name.mistyped(), Some(JsonKind::Bool));
        assert_eq!(it.rate.mistyped(), Some(JsonKind::Bool));
    }

    #[test]
    fn times_parse_placeholders_are_absent_and_bad_ones_warn_once() {
        let mut warnings = FieldWarnings::default();
        let text = |t: &str| Field::Value(t.to_owned());
        for _ in 0..3 {
            assert_eq!(
                warnings.time(Some("a"), "last_run_at", text("2026-03-01T14:30:00.000Z")),
                Time::At(1_772_375_400.0)
            );
            assert_eq!(
                warnings.time(Some("a"), "created_at", text("0001-01-01T00:00:00Z")),
                Time::Absent
            );
            assert_eq!(
                warnings.time(Some("a"), "updated_at", text("yesterday")),
                Time::Unreadable
            );
            assert_eq!(
                warnings.time(Some("a"), "last_run_at", Field::Mistyped(JsonKind::Number)),
                Time::Unreadable
            );
            assert_eq!(
                warnings.time(Some("a"), "last_run_at", Field::Absent),
                Time::Absent
            );
        }
        assert_eq!(
            warnings.reported(),
            2,
            "updated_at and last_run_at, once each"
        );
        assert!(matches!(
            warnings.time(Some("b"), "x", text("9999-12-31T23:59:59Z")),
            Time::At(t) if t > 2.5e11
        ));
    }

    #[test]
    fn gone_items_are_forgotten_and_warned_about_again_when_back() {
        let mut warnings = FieldWarnings::default();
        let bad = || Field::<bool>::Mistyped(JsonKind::String);
        // Ids churn: each poll lists two new items with a bad field.
        for poll in 0..1000 {
            let ids = [format!("a{poll}"), format!("b{poll}")];
            for id in &ids {
                warnings.take(Some(id), "is_continuous", bad());
            }
            warnings.take(None, "is_continuous", bad());
            let mut present: Vec<Option<&str>> = ids.iter().map(|id| Some(id.as_str())).collect();
            present.push(None);
            warnings.keep_only(present);
            assert!(warnings.items() <= 3, "poll {poll}: {}", warnings.items());
        }
        assert_eq!(warnings.items(), 3);
        // `a999` goes, comes back with the same bad field: warned again.
        warnings.keep_only([Some("b999")]);
        assert_eq!((warnings.items(), warnings.reported()), (1, 1));
        warnings.take(Some("a999"), "is_continuous", bad());
        assert_eq!(
            warnings.reported(),
            2,
            "the returning item is reported again"
        );
        warnings.take(Some("b999"), "is_continuous", bad());
        assert_eq!(warnings.reported(), 2, "a present item is not");
    }

    #[test]
    fn counts_are_whole_non_negative_numbers() {
        let count = |json: &str| serde_json::from_str::<Field<u64>>(json).unwrap();
        assert_eq!(count("12"), Field::Value(12));
        assert_eq!(count("12.0"), Field::Value(12));
        assert_eq!(count("0"), Field::Value(0));
        assert_eq!(count("-1"), Field::Mistyped(JsonKind::Number));
        assert_eq!(count("1.5"), Field::Mistyped(JsonKind::Number));
        assert_eq!(count("1e300"), Field::Mistyped(JsonKind::Number));
        assert_eq!(count(r#""12""#), Field::Mistyped(JsonKind::String));
    }

    #[test]
    fn capped_text_is_cut_at_a_character_boundary() {
        let capped = |json: &str| serde_json::from_str::<Field<Capped<5>>>(json).unwrap();
        let short = capped(r#""abc""#).value().unwrap();
        assert_eq!((short.text.as_str(), short.cut), ("abc", false));
        let exact = capped(r#""abcde""#).value().unwrap();
        assert_eq!((exact.text.as_str(), exact.cut), ("abcde", false));
        // "ab" then a 4-byte emoji: 6 bytes, cut before the emoji.
        let cut = capped(r#""ab🚀""#).value().unwrap();
        assert_eq!((cut.text.as_str(), cut.cut), ("ab", true));
        assert_eq!(capped("[1]").mistyped(), Some(JsonKind::List));
    }

    #[test]
    fn list_elements_that_are_not_objects_are_skipped() {
        let elements: Vec<Element<Item>> =
            serde_json::from_str(r#"[{"name":"a"},null,"b",3,[{}],true,{"name":"c"}]"#).unwrap();
        let names: Vec<String> = items(elements, "tasks")
            .into_iter()
            .filter_map(|i| i.name.value())
            .collect();
        assert_eq!(names, ["a", "c"]);
    }
}

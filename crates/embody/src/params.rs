//! Node parameters: declared with a type, default, description, range and read-only flag;
//! overridden from `--ros-args -p name:=value` and `--params-file FILE` (ROS 2's YAML
//! format); checked on every change, by type, range and the node's own validators.
//!
//! (The `rcl_interfaces` services, `/parameter_events` and `embody param` come next.)

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_yaml_ng::Value as Yaml;
use thiserror::Error;

use crate::args::RosArgs;

/// A parameter value, with the types of `rcl_interfaces/ParameterType`.
#[derive(Debug, Clone, PartialEq)]
pub enum ParameterValue {
    /// `bool`
    Bool(bool),
    /// `integer` (int64)
    Integer(i64),
    /// `double`
    Double(f64),
    /// `string`
    String(String),
    /// `byte_array`
    ByteArray(Vec<u8>),
    /// `bool_array`
    BoolArray(Vec<bool>),
    /// `integer_array`
    IntegerArray(Vec<i64>),
    /// `double_array`
    DoubleArray(Vec<f64>),
    /// `string_array`
    StringArray(Vec<String>),
}

impl ParameterValue {
    /// The type's name as `ros2 param` prints it.
    pub fn type_name(&self) -> &'static str {
        match self {
            ParameterValue::Bool(_) => "bool",
            ParameterValue::Integer(_) => "integer",
            ParameterValue::Double(_) => "double",
            ParameterValue::String(_) => "string",
            ParameterValue::ByteArray(_) => "byte_array",
            ParameterValue::BoolArray(_) => "bool_array",
            ParameterValue::IntegerArray(_) => "integer_array",
            ParameterValue::DoubleArray(_) => "double_array",
            ParameterValue::StringArray(_) => "string_array",
        }
    }

    /// A value from YAML, as parameter files and `-p` values are written.
    pub fn from_yaml(v: &Yaml) -> Result<Self, String> {
        Ok(match v {
            Yaml::Bool(b) => ParameterValue::Bool(*b),
            Yaml::Number(n) if n.is_i64() => {
                ParameterValue::Integer(n.as_i64().unwrap_or_default())
            }
            Yaml::Number(n) => ParameterValue::Double(n.as_f64().ok_or("number out of range")?),
            Yaml::String(s) => ParameterValue::String(s.clone()),
            Yaml::Sequence(items) => {
                if items.iter().all(|i| matches!(i, Yaml::Bool(_))) && !items.is_empty() {
                    ParameterValue::BoolArray(items.iter().filter_map(Yaml::as_bool).collect())
                } else if items.iter().all(|i| i.as_i64().is_some()) && !items.is_empty() {
                    ParameterValue::IntegerArray(items.iter().filter_map(Yaml::as_i64).collect())
                } else if items.iter().all(|i| i.as_f64().is_some()) && !items.is_empty() {
                    ParameterValue::DoubleArray(items.iter().filter_map(Yaml::as_f64).collect())
                } else if items.iter().all(|i| i.as_str().is_some()) {
                    ParameterValue::StringArray(
                        items
                            .iter()
                            .filter_map(|i| i.as_str().map(str::to_owned))
                            .collect(),
                    )
                } else {
                    return Err("a list must hold only bools, only numbers or only strings".into());
                }
            }
            Yaml::Null => return Err("empty value".into()),
            _ => return Err("a parameter must be a scalar or a list".into()),
        })
    }

    /// Parses a `-p name:=value` value the way ROS 2 does: as a YAML scalar or list.
    pub fn parse(text: &str) -> Result<Self, String> {
        let y: Yaml =
            serde_yaml_ng::from_str(text).unwrap_or_else(|_| Yaml::String(text.to_owned()));
        Self::from_yaml(&y)
    }

    /// The value converted to the type of `like`, if ROS 2 would accept it: same type, or an
    /// integer where a double is expected.
    fn coerce_to(self, like: &ParameterValue) -> Option<Self> {
        match (self, like) {
            (ParameterValue::Integer(i), ParameterValue::Double(_)) => {
                Some(ParameterValue::Double(i as f64))
            }
            (ParameterValue::IntegerArray(v), ParameterValue::DoubleArray(_)) => Some(
                ParameterValue::DoubleArray(v.into_iter().map(|i| i as f64).collect()),
            ),
            (v, like) if std::mem::discriminant(&v) == std::mem::discriminant(like) => Some(v),
            _ => None,
        }
    }
}

impl From<bool> for ParameterValue {
    fn from(v: bool) -> Self {
        ParameterValue::Bool(v)
    }
}
impl From<i64> for ParameterValue {
    fn from(v: i64) -> Self {
        ParameterValue::Integer(v)
    }
}
impl From<f64> for ParameterValue {
    fn from(v: f64) -> Self {
        ParameterValue::Double(v)
    }
}
impl From<&str> for ParameterValue {
    fn from(v: &str) -> Self {
        ParameterValue::String(v.to_owned())
    }
}
impl From<Vec<f64>> for ParameterValue {
    fn from(v: Vec<f64>) -> Self {
        ParameterValue::DoubleArray(v)
    }
}

/// How a parameter may be set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParameterDescriptor {
    /// What it means (with units).
    pub description: String,
    /// Cannot be changed after declaration.
    pub read_only: bool,
    /// Inclusive integer range.
    pub integer_range: Option<(i64, i64)>,
    /// Inclusive floating-point range.
    pub floating_point_range: Option<(f64, f64)>,
}

impl ParameterDescriptor {
    /// A descriptor with a description.
    pub fn new(description: &str) -> Self {
        Self {
            description: description.to_owned(),
            ..Self::default()
        }
    }

    /// With an inclusive floating-point range.
    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.floating_point_range = Some((min, max));
        self
    }

    /// With an inclusive integer range.
    pub fn int_range(mut self, min: i64, max: i64) -> Self {
        self.integer_range = Some((min, max));
        self
    }

    /// Read-only after declaration.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    fn check(&self, name: &str, v: &ParameterValue, origin: &str) -> Result<(), ParamError> {
        let out = |value: String, range: String| ParamError::OutOfRange {
            name: name.to_owned(),
            value,
            range,
            origin: origin.to_owned(),
        };
        match (v, self.integer_range, self.floating_point_range) {
            (ParameterValue::Integer(i), Some((lo, hi)), _) if *i < lo || *i > hi => {
                Err(out(i.to_string(), format!("{lo}..={hi}")))
            }
            (ParameterValue::Double(d), _, Some((lo, hi))) if !(*d >= lo && *d <= hi) => {
                Err(out(d.to_string(), format!("{lo}..={hi}")))
            }
            _ => Ok(()),
        }
    }
}

/// Why a parameter could not be declared, read or set.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParamError {
    /// Not declared by the node.
    #[error("parameter `{0}` is not declared")]
    NotDeclared(String),
    /// Declared twice.
    #[error("parameter `{0}` is already declared")]
    AlreadyDeclared(String),
    /// A value of the wrong type.
    #[error("parameter `{name}` ({origin}): expected {expected}, got {found}")]
    WrongType {
        /// Parameter.
        name: String,
        /// Declared type.
        expected: &'static str,
        /// Given type.
        found: &'static str,
        /// Where the value came from (`--ros-args -p`, a file, a set request).
        origin: String,
    },
    /// A value outside the declared range.
    #[error("parameter `{name}` ({origin}): {value} is outside {range}")]
    OutOfRange {
        /// Parameter.
        name: String,
        /// The value.
        value: String,
        /// The allowed range.
        range: String,
        /// Where the value came from.
        origin: String,
    },
    /// A read-only parameter.
    #[error("parameter `{0}` is read-only")]
    ReadOnly(String),
    /// A validator of the node said no.
    #[error("parameter `{name}` rejected: {reason}")]
    Rejected {
        /// Parameter.
        name: String,
        /// The validator's reason.
        reason: String,
    },
    /// A parameter file or `-p` value that cannot be used.
    #[error("{origin}: {why}")]
    Source {
        /// The file, or `--ros-args -p name:=value`.
        origin: String,
        /// What is wrong.
        why: String,
    },
}

type Validator = Box<dyn Fn(&str, &ParameterValue) -> Result<(), String> + Send + Sync>;

/// A node's parameters.
#[derive(Default)]
pub struct Parameters {
    declared: Mutex<BTreeMap<String, (ParameterValue, ParameterDescriptor)>>,
    overrides: BTreeMap<String, (ParameterValue, String)>,
    validators: Mutex<Vec<Validator>>,
}

fn flatten(prefix: &str, v: &Yaml, out: &mut Vec<(String, Yaml)>) {
    match v {
        Yaml::Mapping(m) => {
            for (k, v) in m {
                let key = k
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{k:?}"));
                let name = if prefix.is_empty() {
                    key
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&name, v, out);
            }
        }
        other => out.push((prefix.to_owned(), other.clone())),
    }
}

/// True when a parameter-file node key selects the node `fq_name` (`/ns/name`).
fn selects(key: &str, fq_name: &str) -> bool {
    let name = fq_name.rsplit('/').next().unwrap_or(fq_name);
    key == "/**"
        || key == fq_name
        || key == name
        || key.strip_prefix("/**/").is_some_and(|k| k == name)
}

impl Parameters {
    /// Parameters of node `fq_name`, with overrides from its `--ros-args` (`--params-file`
    /// files in order, then `-p` values, later ones winning).
    pub fn from_args(args: &RosArgs, fq_name: &str) -> Result<Self, ParamError> {
        let mut overrides = BTreeMap::new();
        for file in &args.params_files {
            let bad = |why: String| ParamError::Source {
                origin: file.clone(),
                why,
            };
            let text = std::fs::read_to_string(file).map_err(|e| bad(e.to_string()))?;
            let doc: Yaml = serde_yaml_ng::from_str(&text).map_err(|e| bad(e.to_string()))?;
            let Yaml::Mapping(nodes) = doc else {
                return Err(bad("expected a mapping of node names".into()));
            };
            for (key, section) in &nodes {
                let key = key.as_str().unwrap_or_default();
                if !selects(key, fq_name) {
                    continue;
                }
                let params = section
                    .get("ros__parameters")
                    .ok_or_else(|| bad(format!("`{key}` has no `ros__parameters` mapping")))?;
                let mut flat = Vec::new();
                flatten("", params, &mut flat);
                for (name, v) in flat {
                    let value = ParameterValue::from_yaml(&v)
                        .map_err(|why| bad(format!("parameter `{name}`: {why}")))?;
                    overrides.insert(name, (value, file.clone()));
                }
            }
        }
        for (name, text) in &args.params {
            let source = format!("--ros-args -p {name}:={text}");
            let value = ParameterValue::parse(text).map_err(|why| ParamError::Source {
                origin: source.clone(),
                why,
            })?;
            overrides.insert(name.clone(), (value, source));
        }
        Ok(Self {
            overrides,
            ..Self::default()
        })
    }

    /// Declares a parameter and returns its value: the override if there is one (checked
    /// against the default's type and the range), else the default.
    pub fn declare(
        &self,
        name: &str,
        default: impl Into<ParameterValue>,
        descriptor: ParameterDescriptor,
    ) -> Result<ParameterValue, ParamError> {
        let default = default.into();
        let mut declared = self.declared.lock().unwrap_or_else(|e| e.into_inner());
        if declared.contains_key(name) {
            return Err(ParamError::AlreadyDeclared(name.to_owned()));
        }
        let value = match self.overrides.get(name) {
            Some((v, source)) => {
                let v = v
                    .clone()
                    .coerce_to(&default)
                    .ok_or_else(|| ParamError::WrongType {
                        name: name.to_owned(),
                        expected: default.type_name(),
                        found: v.type_name(),
                        origin: source.clone(),
                    })?;
                descriptor.check(name, &v, source)?;
                v
            }
            None => {
                descriptor.check(name, &default, "default")?;
                default
            }
        };
        declared.insert(name.to_owned(), (value.clone(), descriptor));
        Ok(value)
    }

    /// The current value.
    pub fn get(&self, name: &str) -> Result<ParameterValue, ParamError> {
        let declared = self.declared.lock().unwrap_or_else(|e| e.into_inner());
        declared
            .get(name)
            .map(|(v, _)| v.clone())
            .ok_or_else(|| ParamError::NotDeclared(name.to_owned()))
    }

    /// The current value of a `double` parameter.
    pub fn get_f64(&self, name: &str) -> Result<f64, ParamError> {
        match self.get(name)? {
            ParameterValue::Double(d) => Ok(d),
            other => Err(wrong(name, "double", &other)),
        }
    }

    /// The current value of an `integer` parameter.
    pub fn get_i64(&self, name: &str) -> Result<i64, ParamError> {
        match self.get(name)? {
            ParameterValue::Integer(i) => Ok(i),
            other => Err(wrong(name, "integer", &other)),
        }
    }

    /// The current value of a `bool` parameter.
    pub fn get_bool(&self, name: &str) -> Result<bool, ParamError> {
        match self.get(name)? {
            ParameterValue::Bool(b) => Ok(b),
            other => Err(wrong(name, "bool", &other)),
        }
    }

    /// The current value of a `string` parameter.
    pub fn get_string(&self, name: &str) -> Result<String, ParamError> {
        match self.get(name)? {
            ParameterValue::String(s) => Ok(s),
            other => Err(wrong(name, "string", &other)),
        }
    }

    /// Adds a validator run before every change; returning `Err(reason)` rejects it.
    pub fn on_set(
        &self,
        validator: impl Fn(&str, &ParameterValue) -> Result<(), String> + Send + Sync + 'static,
    ) {
        self.validators
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(validator));
    }

    /// Checks a change without making it; returns the value as it would be stored.
    fn check_set(
        &self,
        declared: &BTreeMap<String, (ParameterValue, ParameterDescriptor)>,
        name: &str,
        value: ParameterValue,
    ) -> Result<ParameterValue, ParamError> {
        let (current, descriptor) = declared
            .get(name)
            .ok_or_else(|| ParamError::NotDeclared(name.to_owned()))?;
        if descriptor.read_only {
            return Err(ParamError::ReadOnly(name.to_owned()));
        }
        let found = value.type_name();
        let value = value
            .coerce_to(current)
            .ok_or_else(|| ParamError::WrongType {
                name: name.to_owned(),
                expected: current.type_name(),
                found,
                origin: "set request".to_owned(),
            })?;
        descriptor.check(name, &value, "set request")?;
        for v in self
            .validators
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            v(name, &value).map_err(|reason| ParamError::Rejected {
                name: name.to_owned(),
                reason,
            })?;
        }
        Ok(value)
    }

    /// Changes a declared parameter after checking read-only, type, range and validators.
    pub fn set(&self, name: &str, value: impl Into<ParameterValue>) -> Result<(), ParamError> {
        self.set_all(vec![(name.to_owned(), value.into())])
    }

    /// Changes several parameters all or nothing: if one check fails, none changes.
    pub fn set_all(&self, values: Vec<(String, ParameterValue)>) -> Result<(), ParamError> {
        let mut declared = self.declared.lock().unwrap_or_else(|e| e.into_inner());
        let mut checked = Vec::with_capacity(values.len());
        for (name, value) in values {
            let v = self.check_set(&declared, &name, value)?;
            checked.push((name, v));
        }
        for (name, v) in checked {
            if let Some(entry) = declared.get_mut(&name) {
                entry.0 = v;
            }
        }
        Ok(())
    }

    /// The descriptor of a declared parameter.
    pub fn describe(&self, name: &str) -> Result<ParameterDescriptor, ParamError> {
        let declared = self.declared.lock().unwrap_or_else(|e| e.into_inner());
        declared
            .get(name)
            .map(|(_, d)| d.clone())
            .ok_or_else(|| ParamError::NotDeclared(name.to_owned()))
    }

    /// Names of the declared parameters, sorted.
    pub fn names(&self) -> Vec<String> {
        self.declared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }
}

impl std::fmt::Debug for Parameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let declared = self.declared.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_map()
            .entries(declared.iter().map(|(k, (v, _))| (k, v)))
            .finish()
    }
}

fn wrong(name: &str, expected: &'static str, got: &ParameterValue) -> ParamError {
    ParamError::WrongType {
        name: name.to_owned(),
        expected,
        found: got.type_name(),
        origin: "get".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(params: &[(&str, &str)], files: &[String]) -> RosArgs {
        RosArgs {
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            params_files: files.to_vec(),
            ..RosArgs::default()
        }
    }

    fn file(name: &str, text: &str) -> String {
        let dir = std::env::temp_dir().join(format!("embody-params-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("params.yaml");
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    #[test]
    fn values_parse_like_ros2() {
        assert_eq!(
            ParameterValue::parse("10").unwrap(),
            ParameterValue::Integer(10)
        );
        assert_eq!(
            ParameterValue::parse("1.5").unwrap(),
            ParameterValue::Double(1.5)
        );
        assert_eq!(
            ParameterValue::parse("true").unwrap(),
            ParameterValue::Bool(true)
        );
        assert_eq!(
            ParameterValue::parse("hello world").unwrap(),
            ParameterValue::String("hello world".into())
        );
        assert_eq!(
            ParameterValue::parse("[1, 2]").unwrap(),
            ParameterValue::IntegerArray(vec![1, 2])
        );
        assert_eq!(
            ParameterValue::parse("[0.5, 2]").unwrap(),
            ParameterValue::DoubleArray(vec![0.5, 2.0])
        );
    }

    #[test]
    fn files_and_command_line_override_defaults() {
        let f = file(
            "ok",
            "/**:\n  ros__parameters:\n    max_speed: 13.9\n    use_sim_time: true\n/robot1/planner:\n  ros__parameters:\n    aes:\n      ttc_warn: 2.5\n      enabled: false\nother_node:\n  ros__parameters:\n    max_speed: 1.0\n",
        );
        let p = Parameters::from_args(
            &args(&[("lanes", "3")], std::slice::from_ref(&f)),
            "/robot1/planner",
        )
        .unwrap();
        assert_eq!(
            p.declare(
                "max_speed",
                10.0,
                ParameterDescriptor::new("m/s").range(0.0, 40.0)
            )
            .unwrap(),
            ParameterValue::Double(13.9)
        );
        assert_eq!(
            p.declare("aes.ttc_warn", 3.0, ParameterDescriptor::default())
                .unwrap(),
            ParameterValue::Double(2.5)
        );
        assert!(
            !p.get_bool("use_sim_time").is_ok_and(|b| b),
            "not declared yet"
        );
        assert!(
            p.declare("use_sim_time", false, ParameterDescriptor::default())
                .unwrap()
                == ParameterValue::Bool(true)
        );
        // An integer where a double is declared is promoted.
        assert_eq!(
            p.declare("lanes", 2.0, ParameterDescriptor::default())
                .unwrap(),
            ParameterValue::Double(3.0)
        );
        assert_eq!(
            p.declare("untouched", 7i64, ParameterDescriptor::default())
                .unwrap(),
            ParameterValue::Integer(7)
        );
        assert_eq!(p.get_f64("max_speed").unwrap(), 13.9);
    }

    #[test]
    fn errors_name_the_parameter_and_the_source() {
        let f = file(
            "bad",
            "/**:\n  ros__parameters:\n    max_speed: fast\n    lanes: 9\n",
        );
        let p = Parameters::from_args(&args(&[], std::slice::from_ref(&f)), "/planner").unwrap();
        assert_eq!(
            p.declare("max_speed", 10.0, ParameterDescriptor::default())
                .unwrap_err()
                .to_string(),
            format!("parameter `max_speed` ({f}): expected double, got string")
        );
        assert_eq!(
            p.declare(
                "lanes",
                2i64,
                ParameterDescriptor::default().int_range(1, 4)
            )
            .unwrap_err()
            .to_string(),
            format!("parameter `lanes` ({f}): 9 is outside 1..=4")
        );
        let p = Parameters::from_args(&args(&[("gain", "[1, \"a\"]")], &[]), "/n").unwrap_err();
        assert_eq!(
            p.to_string(),
            "--ros-args -p gain:=[1, \"a\"]: a list must hold only bools, only numbers or only strings"
        );
        let missing = Parameters::from_args(&args(&[], &["/nonexistent/params.yaml".into()]), "/n")
            .unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("/nonexistent/params.yaml: "),
            "{missing}"
        );
    }

    #[test]
    fn sets_are_checked() {
        let p = Parameters::default();
        p.declare("gain", 1.0, ParameterDescriptor::new("").range(0.0, 2.0))
            .unwrap();
        p.declare("frame", "map", ParameterDescriptor::default().read_only())
            .unwrap();
        p.on_set(|name, v| {
            if name == "gain" && *v == ParameterValue::Double(1.5) {
                Err("1.5 is unlucky".into())
            } else {
                Ok(())
            }
        });
        assert_eq!(p.set("gain", 0.5), Ok(()));
        assert_eq!(p.get_f64("gain").unwrap(), 0.5);
        assert_eq!(
            p.set("gain", 3.0).unwrap_err().to_string(),
            "parameter `gain` (set request): 3 is outside 0..=2"
        );
        assert_eq!(
            p.set("gain", 1.5).unwrap_err().to_string(),
            "parameter `gain` rejected: 1.5 is unlucky"
        );
        assert_eq!(
            p.set("gain", "high").unwrap_err().to_string(),
            "parameter `gain` (set request): expected double, got string"
        );
        assert_eq!(
            p.set("frame", "odom").unwrap_err(),
            ParamError::ReadOnly("frame".into())
        );
        assert_eq!(
            p.set("nope", 1.0).unwrap_err(),
            ParamError::NotDeclared("nope".into())
        );
        assert_eq!(
            p.get_f64("gain").unwrap(),
            0.5,
            "failed sets change nothing"
        );
    }
}

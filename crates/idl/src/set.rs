use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use thiserror::Error;

use crate::parse::{ParseError, parse_interface};
use crate::types::{
    BaseType, Container, Field, FieldType, Interface, Kind, MessageDef, Primitive, TypeName,
};

/// Anything that stops a set of interfaces from compiling.
#[derive(Debug, Error)]
pub enum IdlError {
    /// A file does not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A field names a type that no loaded package defines.
    #[error("{origin}:{line}: field `{field}` refers to unknown type `{missing}`")]
    UnknownType {
        /// File of the referring definition.
        origin: String,
        /// Line of the field.
        line: usize,
        /// The field.
        field: String,
        /// The type that is missing.
        missing: String,
    },
    /// A type contains itself, which no finite message can.
    #[error("type `{0}` contains itself")]
    Recursive(String),
    /// Two files define the same type.
    #[error("type `{name}` is defined twice: in {first} and in {second}")]
    Duplicate {
        /// The type.
        name: String,
        /// First definition.
        first: String,
        /// Second definition.
        second: String,
    },
    /// The type set was asked about a type it does not hold.
    #[error("unknown interface type `{0}`")]
    NotFound(String),
    /// Reading interface files failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Schema text that cannot be used.
    #[error("schema for `{name}`: {message}")]
    Schema {
        /// Type the schema describes.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// What a definition in a [`TypeSet`] stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum DefRole {
    /// An ordinary message, including the parts derived from services and actions.
    Message,
    /// The description-only type of a service (`request_message`, `response_message`,
    /// `event_message`), hashed but never sent.
    Service,
    /// The description-only type of an action.
    Action,
}

/// One definition with its role and, for files, the source text.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The definition.
    pub def: MessageDef,
    /// What it stands for.
    pub role: DefRole,
}

/// A closed set of interface types: every nested reference resolves inside the set.
#[derive(Debug, Clone, Default)]
pub struct TypeSet {
    entries: BTreeMap<TypeName, Entry>,
    interfaces: BTreeMap<TypeName, (Interface, String)>,
}

impl TypeSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every `msg/`, `srv/` and `action/` file of every package folder under `root`
    /// (`root/<pkg>/msg/*.msg` ...). Call [`TypeSet::check`] after the last addition.
    pub fn add_root(&mut self, root: &Path) -> Result<(), IdlError> {
        let io = |path: &Path, source| IdlError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut packages: Vec<_> = std::fs::read_dir(root)
            .map_err(|e| io(root, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        packages.sort();
        for pkg_dir in packages {
            self.add_package_dir(&pkg_dir)?;
        }
        Ok(())
    }

    /// Adds one package folder (its name is the package name).
    pub fn add_package_dir(&mut self, pkg_dir: &Path) -> Result<(), IdlError> {
        let io = |path: &Path, source| IdlError::Io {
            path: path.display().to_string(),
            source,
        };
        let package = pkg_dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| IdlError::Schema {
                name: pkg_dir.display().to_string(),
                message: "not a package folder".into(),
            })?
            .to_owned();
        for sub in ["msg", "srv", "action"] {
            let dir = pkg_dir.join(sub);
            if !dir.is_dir() {
                continue;
            }
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .map_err(|e| io(&dir, e))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(sub))
                .collect();
            files.sort();
            for file in files {
                let text = std::fs::read_to_string(&file).map_err(|e| io(&file, e))?;
                let file_name = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                let iface =
                    parse_interface(&package, file_name, &text, &file.display().to_string())?;
                self.add_interface(iface, text)?;
            }
        }
        Ok(())
    }

    /// Adds a parsed interface with its source text, deriving the types ROS 2 derives.
    pub fn add_interface(&mut self, iface: Interface, source: String) -> Result<(), IdlError> {
        match &iface {
            Interface::Message(m) => self.insert(m.clone(), DefRole::Message)?,
            Interface::Service {
                name,
                request,
                response,
            } => {
                self.add_service(name, request.clone(), response.clone())?;
            }
            Interface::Action {
                name,
                goal,
                result,
                feedback,
            } => {
                self.add_action(name, goal, result, feedback)?;
            }
        }
        self.interfaces
            .insert(iface.name().clone(), (iface, source));
        Ok(())
    }

    fn insert(&mut self, def: MessageDef, role: DefRole) -> Result<(), IdlError> {
        if let Some(prev) = self.entries.get(&def.name) {
            return Err(IdlError::Duplicate {
                name: def.name.to_string(),
                first: prev.def.origin.clone(),
                second: def.origin,
            });
        }
        self.entries.insert(def.name.clone(), Entry { def, role });
        Ok(())
    }

    fn add_service(
        &mut self,
        name: &TypeName,
        request: MessageDef,
        response: MessageDef,
    ) -> Result<(), IdlError> {
        let origin = request.origin.clone();
        let sibling = |suffix: &str| {
            TypeName::new(&name.package, name.kind, &format!("{}{suffix}", name.name))
        };
        let event = synthetic(
            sibling("_Event"),
            &origin,
            vec![
                (
                    "info",
                    nested("service_msgs", "ServiceEventInfo"),
                    Container::Single,
                ),
                (
                    "request",
                    BaseType::Nested(request.name.clone()),
                    Container::BoundedSeq(1),
                ),
                (
                    "response",
                    BaseType::Nested(response.name.clone()),
                    Container::BoundedSeq(1),
                ),
            ],
        );
        let top = synthetic(
            name.clone(),
            &origin,
            vec![
                (
                    "request_message",
                    BaseType::Nested(request.name.clone()),
                    Container::Single,
                ),
                (
                    "response_message",
                    BaseType::Nested(response.name.clone()),
                    Container::Single,
                ),
                (
                    "event_message",
                    BaseType::Nested(event.name.clone()),
                    Container::Single,
                ),
            ],
        );
        self.insert(request, DefRole::Message)?;
        self.insert(response, DefRole::Message)?;
        self.insert(event, DefRole::Message)?;
        self.insert(top, DefRole::Service)
    }

    fn add_action(
        &mut self,
        name: &TypeName,
        goal: &MessageDef,
        result: &MessageDef,
        feedback: &MessageDef,
    ) -> Result<(), IdlError> {
        let origin = goal.origin.clone();
        let sibling = |suffix: &str| {
            TypeName::new(
                &name.package,
                Kind::Action,
                &format!("{}{suffix}", name.name),
            )
        };
        let uuid = || nested("unique_identifier_msgs", "UUID");
        let part = |suffix: &str, fields| synthetic(sibling(suffix), &origin, fields);
        let goal_t = BaseType::Nested(goal.name.clone());
        let result_t = BaseType::Nested(result.name.clone());
        let feedback_t = BaseType::Nested(feedback.name.clone());
        let send_req = part(
            "_SendGoal_Request",
            vec![
                ("goal_id", uuid(), Container::Single),
                ("goal", goal_t.clone(), Container::Single),
            ],
        );
        let send_resp = part(
            "_SendGoal_Response",
            vec![
                (
                    "accepted",
                    BaseType::Primitive(Primitive::Bool),
                    Container::Single,
                ),
                (
                    "stamp",
                    nested("builtin_interfaces", "Time"),
                    Container::Single,
                ),
            ],
        );
        let get_req = part(
            "_GetResult_Request",
            vec![("goal_id", uuid(), Container::Single)],
        );
        let get_resp = part(
            "_GetResult_Response",
            vec![
                (
                    "status",
                    BaseType::Primitive(Primitive::Int8),
                    Container::Single,
                ),
                ("result", result_t.clone(), Container::Single),
            ],
        );
        let fb_msg = part(
            "_FeedbackMessage",
            vec![
                ("goal_id", uuid(), Container::Single),
                ("feedback", feedback_t.clone(), Container::Single),
            ],
        );
        let top = part(
            "",
            vec![
                ("goal", goal_t, Container::Single),
                ("result", result_t, Container::Single),
                ("feedback", feedback_t, Container::Single),
                (
                    "send_goal_service",
                    BaseType::Nested(sibling("_SendGoal")),
                    Container::Single,
                ),
                (
                    "get_result_service",
                    BaseType::Nested(sibling("_GetResult")),
                    Container::Single,
                ),
                (
                    "feedback_message",
                    BaseType::Nested(fb_msg.name.clone()),
                    Container::Single,
                ),
            ],
        );
        self.insert(goal.clone(), DefRole::Message)?;
        self.insert(result.clone(), DefRole::Message)?;
        self.insert(feedback.clone(), DefRole::Message)?;
        self.add_service(&sibling("_SendGoal"), send_req, send_resp)?;
        self.add_service(&sibling("_GetResult"), get_req, get_resp)?;
        self.insert(fb_msg, DefRole::Message)?;
        self.insert(top, DefRole::Action)
    }

    /// Checks that every nested reference resolves and no type contains itself.
    pub fn check(&self) -> Result<(), IdlError> {
        for entry in self.entries.values() {
            for f in &entry.def.fields {
                if let Some(t) = f.ty.nested()
                    && !self.entries.contains_key(t)
                {
                    return Err(IdlError::UnknownType {
                        origin: entry.def.origin.clone(),
                        line: f.line,
                        field: f.name.clone(),
                        missing: t.to_string(),
                    });
                }
            }
        }
        for name in self.entries.keys() {
            self.dependencies(name)?;
        }
        Ok(())
    }

    /// Looks a definition up.
    pub fn get(&self, name: &TypeName) -> Result<&Entry, IdlError> {
        self.entries
            .get(name)
            .ok_or_else(|| IdlError::NotFound(name.to_string()))
    }

    /// Every definition, sorted by name.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Every interface file added, with its source text, sorted by name.
    pub fn interfaces(&self) -> impl Iterator<Item = (&Interface, &str)> {
        self.interfaces.values().map(|(i, s)| (i, s.as_str()))
    }

    /// Packages that have at least one definition.
    pub fn packages(&self) -> BTreeSet<&str> {
        self.entries.keys().map(|t| t.package.as_str()).collect()
    }

    /// Every type `name` refers to, directly or not, sorted by name (excluding `name`).
    pub fn dependencies(&self, name: &TypeName) -> Result<Vec<TypeName>, IdlError> {
        let mut done = BTreeSet::new();
        let mut visiting = BTreeSet::new();
        self.visit(name, &mut visiting, &mut done)?;
        done.remove(name);
        Ok(done.into_iter().collect())
    }

    /// Depth-first walk; `visiting` holds the current path so a cycle is caught.
    fn visit(
        &self,
        t: &TypeName,
        visiting: &mut BTreeSet<TypeName>,
        done: &mut BTreeSet<TypeName>,
    ) -> Result<(), IdlError> {
        if done.contains(t) {
            return Ok(());
        }
        if !visiting.insert(t.clone()) {
            return Err(IdlError::Recursive(t.to_string()));
        }
        for f in &self.get(t)?.def.fields {
            if let Some(n) = f.ty.nested() {
                self.visit(n, visiting, done)?;
            }
        }
        visiting.remove(t);
        done.insert(t.clone());
        Ok(())
    }

    /// Adds a definition that is not backed by a file, e.g. one read from bag schema text.
    pub fn add_message(&mut self, def: MessageDef) -> Result<(), IdlError> {
        self.insert(def, DefRole::Message)
    }

    /// True if the set holds `name`.
    pub fn contains(&self, name: &TypeName) -> bool {
        self.entries.contains_key(name)
    }
}

fn nested(package: &str, name: &str) -> BaseType {
    BaseType::Nested(TypeName::new(package, Kind::Msg, name))
}

fn synthetic(name: TypeName, origin: &str, fields: Vec<(&str, BaseType, Container)>) -> MessageDef {
    MessageDef {
        name,
        fields: fields
            .into_iter()
            .map(|(n, base, container)| Field {
                name: n.to_owned(),
                ty: FieldType { base, container },
                default: None,
                line: 0,
            })
            .collect(),
        constants: Vec::new(),
        origin: origin.to_owned(),
    }
}

//! From a launch file to a plan: every action evaluated in its scope (arguments, `let`,
//! environment, pushed namespaces, global parameters), nodes turned into `embody run` command
//! lines with their `--ros-args`, composable nodes gathered into containers. Nothing runs here,
//! so an invalid file starts nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::LaunchError;
use crate::subst::{Resolver, SubstError, Template, parse_bool};
use crate::tree::{Attr, AttrValue, Element, read_file};

/// Where a process's output goes (ros2 launch's `output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// stdout and stderr on the screen, prefixed with the process label.
    Screen,
    /// Both into `<log dir>/<label>.log`; stderr also on the screen (ros2's default).
    Log,
    /// Both on the screen and in the log file.
    Both,
}

/// One process to run.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessSpec {
    /// Prefix of its output lines and name of its log file, e.g. `talker-1`.
    pub label: String,
    /// Program to run.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment changes: `Some` sets, `None` removes.
    pub env: BTreeMap<String, Option<String>>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// Output handling.
    pub output: Output,
    /// Start again whenever it exits, unless launch is shutting down.
    pub respawn: bool,
    /// Wait before starting again.
    pub respawn_delay: Duration,
    /// How often to respawn (negative: forever).
    pub respawn_max_retries: i64,
    /// When it exits, shut the whole launch down (`on_exit: shutdown`).
    pub on_exit_shutdown: bool,
    /// On shutdown: SIGINT, then SIGTERM after this long.
    pub sigterm_timeout: Duration,
    /// Then SIGKILL after this much longer.
    pub sigkill_timeout: Duration,
    /// Start this long after launch begins (`timer`).
    pub delay: Duration,
    /// `file:line` of the element that declared it.
    pub origin: String,
}

impl ProcessSpec {
    /// A process with ros2 launch's defaults: logged output, no respawn, 5 s before SIGTERM
    /// and 5 s more before SIGKILL.
    pub fn new(label: String, program: PathBuf, args: Vec<String>, origin: String) -> Self {
        Self {
            label,
            program,
            args,
            env: BTreeMap::new(),
            cwd: None,
            output: Output::Log,
            respawn: false,
            respawn_delay: Duration::ZERO,
            respawn_max_retries: -1,
            on_exit_shutdown: false,
            sigterm_timeout: Duration::from_secs(5),
            sigkill_timeout: Duration::from_secs(5),
            delay: Duration::ZERO,
            origin,
        }
    }
}

/// A declared launch argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    /// Name.
    pub name: String,
    /// Default value, if any.
    pub default: Option<String>,
    /// Description.
    pub description: String,
}

/// What a launch file asks for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Processes, in file order (containers after the standalone processes).
    pub processes: Vec<ProcessSpec>,
    /// Arguments the top-level file declares.
    pub args: Vec<ArgDecl>,
    /// Messages of `log` actions, in order.
    pub messages: Vec<String>,
}

/// What the loader needs to know about this installation.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `name:=value` launch arguments from the command line.
    pub args: Vec<(String, String)>,
    /// Executables of the `embody` command (`pkg: embody`).
    pub executables: Vec<String>,
    /// Path of the `embody` command.
    pub embody_exe: PathBuf,
    /// Where logs go (`$(log_dir)`, `output: log`).
    pub log_dir: PathBuf,
    /// Share directories of packages for `$(find-pkg-share)`.
    pub packages: BTreeMap<String, PathBuf>,
    /// The environment processes start from (for `$(env)`).
    pub environment: BTreeMap<String, String>,
}

/// The embody package name in launch files.
pub const EMBODY_PKG: &str = "embody";

#[derive(Debug, Clone, Default)]
struct Scope {
    vars: BTreeMap<String, String>,
    env: BTreeMap<String, Option<String>>,
    namespace: String,
    params: Vec<(String, String)>,
    remaps: Vec<(String, String)>,
    delay: Duration,
}

struct Composed {
    container: String,
    exec: String,
    args: Vec<String>,
    env: BTreeMap<String, Option<String>>,
    output: Output,
    origin: String,
}

struct Loader<'a> {
    opts: &'a LoadOptions,
    plan: Plan,
    composed: Vec<Composed>,
    labels: BTreeMap<String, usize>,
    anon: std::sync::Mutex<BTreeMap<String, String>>,
    includes: Vec<PathBuf>,
}

static ANON: AtomicUsize = AtomicUsize::new(0);

/// Reads and evaluates a launch file.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Plan, LaunchError> {
    let mut loader = Loader {
        opts,
        plan: Plan::default(),
        composed: Vec::new(),
        labels: BTreeMap::new(),
        anon: Default::default(),
        includes: Vec::new(),
    };
    // Absolute, so `$(dirname)` and relative includes work from any working directory.
    let path = &std::fs::canonicalize(path)
        .map_err(|e| LaunchError::at(path, crate::Pos::default(), format!("cannot read: {e}")))?;
    let root = read_file(path)?;
    if root.tag != "launch" {
        return Err(root.error(format!(
            "the root element must be <launch>, not <{}>",
            root.tag
        )));
    }
    let mut scope = Scope::default();
    let given: BTreeMap<&str, &str> = opts
        .args
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (k, v) in &given {
        scope.vars.insert((*k).to_owned(), (*v).to_owned());
    }
    loader.includes.push(path.to_path_buf());
    loader.children(&root, &mut scope, true)?;
    let declared: BTreeSet<&str> = loader.plan.args.iter().map(|a| a.name.as_str()).collect();
    if let Some(unknown) = given.keys().find(|k| !declared.contains(*k)) {
        return Err(LaunchError::at(
            path,
            crate::Pos::default(),
            format!(
                "argument `{unknown}` is not declared by this launch file (declared: {})",
                if declared.is_empty() {
                    "none".to_owned()
                } else {
                    declared.into_iter().collect::<Vec<_>>().join(", ")
                }
            ),
        ));
    }
    loader.finish_containers();
    Ok(loader.plan)
}

struct Env<'a> {
    scope: &'a Scope,
    file: &'a Path,
    loader: &'a Loader<'a>,
}

impl Resolver for Env<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.scope.vars.get(name).cloned()
    }
    fn env(&self, name: &str) -> Option<String> {
        match self.scope.env.get(name) {
            Some(v) => v.clone(),
            None => self.loader.opts.environment.get(name).cloned(),
        }
    }
    fn find_pkg_share(&self, pkg: &str) -> Option<String> {
        if let Some(p) = self.loader.opts.packages.get(pkg) {
            return Some(p.display().to_string());
        }
        // ROS 2 installs: <prefix>/share/<pkg> for every prefix in AMENT_PREFIX_PATH.
        let prefixes = self.env("AMENT_PREFIX_PATH")?;
        prefixes
            .split(':')
            .map(|p| Path::new(p).join("share").join(pkg))
            .find(|p| p.is_dir())
            .map(|p| p.display().to_string())
    }
    fn dirname(&self) -> String {
        self.file
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."))
            .display()
            .to_string()
    }
    fn filename(&self) -> String {
        self.file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
    fn anon(&self, name: &str) -> String {
        let mut map = self.loader.anon.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(name.to_owned())
            .or_insert_with(|| {
                format!(
                    "{name}_{}_{}",
                    std::process::id(),
                    ANON.fetch_add(1, Ordering::Relaxed)
                )
            })
            .clone()
    }
    fn log_dir(&self) -> String {
        self.loader.opts.log_dir.display().to_string()
    }
}

/// Attributes of anything that runs as a process (`node`, `executable`).
const PROCESS: &[&str] = &[
    "output",
    "respawn",
    "respawn_delay",
    "respawn_max_retries",
    "on_exit",
    "sigterm_timeout",
    "sigkill_timeout",
    "cwd",
    "emulate_tty",
];

/// Attributes every action accepts.
const CONDITIONS: &[&str] = &["if", "unless"];

impl<'a> Loader<'a> {
    fn env<'s>(&'s self, scope: &'s Scope, file: &'s Path) -> Env<'s>
    where
        'a: 's,
    {
        Env {
            scope,
            file,
            loader: self,
        }
    }

    /// Substitutes one attribute value; errors point into the attribute.
    fn eval_text(
        &self,
        e: &Element,
        attr: &Attr,
        text: &str,
        scope: &Scope,
    ) -> Result<String, LaunchError> {
        let env = self.env(scope, &e.file);
        Template::parse(text)
            .and_then(|t| t.evaluate(&env))
            .map_err(|err: SubstError| {
                let mut pos = attr.pos;
                pos.column += err.column;
                LaunchError::at(
                    &e.file,
                    pos,
                    format!("`{}` in {}=\"{text}\": {}", e.tag, attr.name, err.message),
                )
            })
    }

    /// An attribute as one substituted string.
    fn get(&self, e: &Element, name: &str, scope: &Scope) -> Result<Option<String>, LaunchError> {
        let Some(attr) = e.attr(name) else {
            return Ok(None);
        };
        match &attr.value {
            AttrValue::Text(t) => self.eval_text(e, attr, t, scope).map(Some),
            AttrValue::List(_) => Err(LaunchError::at(
                &e.file,
                attr.pos,
                format!("`{name}` of <{}> takes one value, not a list", e.tag),
            )),
        }
    }

    fn require(&self, e: &Element, name: &str, scope: &Scope) -> Result<String, LaunchError> {
        self.get(e, name, scope)?
            .ok_or_else(|| e.error(format!("<{}> needs the attribute `{name}`", e.tag)))
    }

    /// An attribute as a list of substituted strings (YAML list, or one value).
    fn get_list(
        &self,
        e: &Element,
        name: &str,
        scope: &Scope,
    ) -> Result<Option<Vec<String>>, LaunchError> {
        let Some(attr) = e.attr(name) else {
            return Ok(None);
        };
        match &attr.value {
            AttrValue::Text(t) => Ok(Some(vec![self.eval_text(e, attr, t, scope)?])),
            AttrValue::List(items) => items
                .iter()
                .map(|t| self.eval_text(e, attr, t, scope))
                .collect::<Result<_, _>>()
                .map(Some),
        }
    }

    fn get_bool(
        &self,
        e: &Element,
        name: &str,
        scope: &Scope,
    ) -> Result<Option<bool>, LaunchError> {
        let Some(v) = self.get(e, name, scope)? else {
            return Ok(None);
        };
        parse_bool(&v).map(Some).map_err(|err| {
            let pos = e.attr(name).map_or(e.pos, |a| a.pos);
            LaunchError::at(
                &e.file,
                pos,
                format!("`{name}` of <{}>: {}", e.tag, err.message),
            )
        })
    }

    fn get_secs(
        &self,
        e: &Element,
        name: &str,
        scope: &Scope,
    ) -> Result<Option<Duration>, LaunchError> {
        let Some(v) = self.get(e, name, scope)? else {
            return Ok(None);
        };
        v.trim()
            .parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .map(Some)
            .ok_or_else(|| {
                e.error(format!(
                    "`{name}` of <{}> must be a number of seconds, not `{v}`",
                    e.tag
                ))
            })
    }

    /// Refuses attributes and children the tag does not have.
    fn check(e: &Element, attrs: &[&str], children: &[&str]) -> Result<(), LaunchError> {
        for a in &e.attrs {
            if !attrs.contains(&a.name.as_str()) && !CONDITIONS.contains(&a.name.as_str()) {
                let mut known: Vec<&str> = attrs.to_vec();
                known.extend(CONDITIONS);
                return Err(LaunchError::at(
                    &e.file,
                    a.pos,
                    format!(
                        "unknown attribute `{}` on <{}> (known: {})",
                        a.name,
                        e.tag,
                        known.join(", ")
                    ),
                ));
            }
        }
        for c in &e.children {
            if !children.contains(&c.tag.as_str()) {
                return Err(c.error(if children.is_empty() {
                    format!("<{}> takes no children, found <{}>", e.tag, c.tag)
                } else {
                    format!(
                        "unexpected <{}> inside <{}> (allowed: {})",
                        c.tag,
                        e.tag,
                        children.join(", ")
                    )
                }));
            }
        }
        Ok(())
    }

    /// `if`/`unless`.
    fn enabled(&self, e: &Element, scope: &Scope) -> Result<bool, LaunchError> {
        match (
            self.get_bool(e, "if", scope)?,
            self.get_bool(e, "unless", scope)?,
        ) {
            (Some(_), Some(_)) => Err(e.error("`if` and `unless` cannot both be given")),
            (Some(c), None) => Ok(c),
            (None, Some(c)) => Ok(!c),
            (None, None) => Ok(true),
        }
    }

    fn children(
        &mut self,
        parent: &Element,
        scope: &mut Scope,
        top: bool,
    ) -> Result<(), LaunchError> {
        for e in &parent.children {
            self.action(e, scope, top)?;
        }
        Ok(())
    }

    fn action(&mut self, e: &Element, scope: &mut Scope, top: bool) -> Result<(), LaunchError> {
        const TAGS: &[&str] = &[
            "arg",
            "let",
            "node",
            "executable",
            "group",
            "include",
            "set_env",
            "unset_env",
            "set_parameter",
            "set_remap",
            "set_use_sim_time",
            "push_ros_namespace",
            "push-ros-namespace",
            "timer",
            "log",
        ];
        if !TAGS.contains(&e.tag.as_str()) {
            return Err(e.error(format!(
                "unknown tag <{}> (known: {})",
                e.tag,
                TAGS.join(", ")
            )));
        }
        if !self.enabled(e, scope)? {
            return Ok(());
        }
        match e.tag.as_str() {
            "arg" => self.arg(e, scope, top),
            "let" => {
                Self::check(e, &["name", "value"], &[])?;
                let name = self.require(e, "name", scope)?;
                let value = self.require(e, "value", scope)?;
                scope.vars.insert(name, value);
                Ok(())
            }
            "node" => self.node(e, scope),
            "executable" => self.executable(e, scope),
            "group" => {
                Self::check(e, &["scoped", "forwarding", "keep", "ns"], TAGS)?;
                if e.attr("ns").is_some() {
                    return Err(e.error("<group ns=...> is ROS 1; use <group> with <push_ros_namespace namespace=...>"));
                }
                if self.get_bool(e, "scoped", scope)?.unwrap_or(true) {
                    let mut inner = scope.clone();
                    self.children(e, &mut inner, top)
                } else {
                    self.children(e, scope, top)
                }
            }
            "include" => self.include(e, scope),
            "set_env" => {
                Self::check(e, &["name", "value"], &[])?;
                let name = self.require(e, "name", scope)?;
                let value = self.require(e, "value", scope)?;
                scope.env.insert(name, Some(value));
                Ok(())
            }
            "unset_env" => {
                Self::check(e, &["name"], &[])?;
                let name = self.require(e, "name", scope)?;
                scope.env.insert(name, None);
                Ok(())
            }
            "set_parameter" => {
                Self::check(e, &["name", "value"], &[])?;
                let name = self.require(e, "name", scope)?;
                let value = self.param_value(e, scope)?;
                scope.params.push((name, value));
                Ok(())
            }
            "set_use_sim_time" => {
                Self::check(e, &["value"], &[])?;
                let v = self.require(e, "value", scope)?;
                scope.params.push(("use_sim_time".into(), v));
                Ok(())
            }
            "set_remap" => {
                Self::check(e, &["from", "to"], &[])?;
                let from = self.require(e, "from", scope)?;
                let to = self.require(e, "to", scope)?;
                scope.remaps.push((from, to));
                Ok(())
            }
            "push_ros_namespace" | "push-ros-namespace" => {
                Self::check(e, &["namespace"], &[])?;
                let ns = self.require(e, "namespace", scope)?;
                scope.namespace = join_namespace(&scope.namespace, &ns);
                Ok(())
            }
            "timer" => {
                Self::check(e, &["period"], TAGS)?;
                let period = self
                    .get_secs(e, "period", scope)?
                    .ok_or_else(|| e.error("<timer> needs `period`"))?;
                let mut inner = scope.clone();
                inner.delay += period;
                self.children(e, &mut inner, top)
            }
            "log" => {
                Self::check(e, &["message"], &[])?;
                let m = self.require(e, "message", scope)?;
                self.plan.messages.push(m);
                Ok(())
            }
            _ => unreachable!("tags checked above"),
        }
    }

    fn arg(&mut self, e: &Element, scope: &mut Scope, top: bool) -> Result<(), LaunchError> {
        Self::check(e, &["name", "default", "description"], &["choice"])?;
        let name = self.require(e, "name", scope)?;
        let default = self.get(e, "default", scope)?;
        let description = self.get(e, "description", scope)?.unwrap_or_default();
        let choices: Vec<String> = e
            .children
            .iter()
            .map(|c| {
                Self::check(c, &["value"], &[])?;
                self.require(c, "value", scope)
            })
            .collect::<Result<_, _>>()?;
        if top {
            self.plan.args.push(ArgDecl {
                name: name.clone(),
                default: default.clone(),
                description: description.clone(),
            });
        }
        let value =
            match (scope.vars.get(&name), default) {
                (Some(v), _) => v.clone(),
                (None, Some(d)) => d,
                (None, None) => {
                    return Err(e.error(format!(
                    "argument `{name}` has no default and no value was given (add {name}:=VALUE{})",
                    if description.is_empty() { String::new() } else { format!("; {description}") }
                )));
                }
            };
        if !choices.is_empty() && !choices.contains(&value) {
            return Err(e.error(format!(
                "argument `{name}` is `{value}`, not one of: {}",
                choices.join(", ")
            )));
        }
        scope.vars.insert(name, value);
        Ok(())
    }

    fn include(&mut self, e: &Element, scope: &mut Scope) -> Result<(), LaunchError> {
        Self::check(e, &["file"], &["arg"])?;
        let file = self.require(e, "file", scope)?;
        let base = e.file.parent().unwrap_or(Path::new("."));
        let path = if Path::new(&file).is_absolute() {
            PathBuf::from(&file)
        } else {
            base.join(&file)
        };
        if !path.is_file() {
            return Err(e.error(format!("included file `{}` does not exist", path.display())));
        }
        if self.includes.contains(&path) {
            return Err(e.error(format!(
                "`{}` includes itself (through {} files)",
                path.display(),
                self.includes.len()
            )));
        }
        let mut inner = scope.clone();
        for a in &e.children {
            Self::check(a, &["name", "value"], &[])?;
            let name = self.require(a, "name", scope)?;
            let value = self.require(a, "value", scope)?;
            inner.vars.insert(name, value);
        }
        let root = read_file(&path)?;
        if root.tag != "launch" {
            return Err(root.error(format!(
                "the root element must be <launch>, not <{}>",
                root.tag
            )));
        }
        self.includes.push(path);
        let r = self.children(&root, &mut inner, false);
        self.includes.pop();
        r
    }

    fn label(&mut self, base: &str) -> String {
        let n = self.labels.entry(base.to_owned()).or_insert(0);
        *n += 1;
        format!("{base}-{n}")
    }

    fn output(&self, e: &Element, scope: &Scope) -> Result<Output, LaunchError> {
        match self.get(e, "output", scope)?.as_deref() {
            None | Some("log") => Ok(Output::Log),
            Some("screen") => Ok(Output::Screen),
            Some("both") => Ok(Output::Both),
            Some(other) => Err(e.error(format!(
                "`output` must be screen, log or both, not `{other}`"
            ))),
        }
    }

    /// The `param`/`set_parameter` value: a YAML list is written as a flow sequence.
    fn param_value(&self, e: &Element, scope: &Scope) -> Result<String, LaunchError> {
        let sep = self.get(e, "value-sep", scope)?;
        let values = self
            .get_list(e, "value", scope)?
            .ok_or_else(|| e.error(format!("<{}> needs `value`", e.tag)))?;
        let list = matches!(e.attr("value").map(|a| &a.value), Some(AttrValue::List(_)));
        Ok(match (sep, list) {
            (Some(sep), _) => format!(
                "[{}]",
                values
                    .concat()
                    .split(sep.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (None, true) => format!("[{}]", values.join(", ")),
            (None, false) => values.concat(),
        })
    }

    /// `param` children of a node: inline values (nested names joined with `.`) and files.
    fn params(
        &self,
        e: &Element,
        prefix: &str,
        scope: &Scope,
        out: &mut Vec<String>,
    ) -> Result<(), LaunchError> {
        for p in e.children.iter().filter(|c| c.tag == "param") {
            Self::check(
                p,
                &["name", "value", "value-sep", "from", "allow_substs"],
                &["param"],
            )?;
            if self.get_bool(p, "allow_substs", scope)?.unwrap_or(false) {
                return Err(p.error(
                    "`allow_substs` is not supported: parameter files are passed to the node as they are",
                ));
            }
            if let Some(from) = self.get(p, "from", scope)? {
                let base = p.file.parent().unwrap_or(Path::new("."));
                let path = if Path::new(&from).is_absolute() {
                    PathBuf::from(&from)
                } else {
                    base.join(&from)
                };
                if !path.is_file() {
                    return Err(p.error(format!(
                        "parameter file `{}` does not exist",
                        path.display()
                    )));
                }
                out.extend(["--params-file".to_owned(), path.display().to_string()]);
                continue;
            }
            let name = self.require(p, "name", scope)?;
            let full = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}.{name}")
            };
            if p.children.is_empty() {
                let value = self.param_value(p, scope)?;
                out.extend(["-p".to_owned(), format!("{full}:={value}")]);
            } else {
                self.params(p, &full, scope, out)?;
            }
        }
        Ok(())
    }

    fn process_env(
        &self,
        e: &Element,
        scope: &Scope,
    ) -> Result<BTreeMap<String, Option<String>>, LaunchError> {
        let mut env = scope.env.clone();
        for c in e.children.iter().filter(|c| c.tag == "env") {
            Self::check(c, &["name", "value"], &[])?;
            env.insert(
                self.require(c, "name", scope)?,
                Some(self.require(c, "value", scope)?),
            );
        }
        Ok(env)
    }

    fn lifecycle(
        &self,
        e: &Element,
        scope: &Scope,
        spec: &mut ProcessSpec,
    ) -> Result<(), LaunchError> {
        spec.respawn = self.get_bool(e, "respawn", scope)?.unwrap_or(false);
        spec.respawn_delay = self
            .get_secs(e, "respawn_delay", scope)?
            .unwrap_or_default();
        if let Some(n) = self.get(e, "respawn_max_retries", scope)? {
            spec.respawn_max_retries = n.trim().parse().map_err(|_| {
                e.error(format!(
                    "`respawn_max_retries` must be an integer, not `{n}`"
                ))
            })?;
        }
        spec.on_exit_shutdown = match self.get(e, "on_exit", scope)?.as_deref() {
            None => false,
            Some("shutdown") => true,
            Some(other) => {
                return Err(e.error(format!("`on_exit` supports only `shutdown`, not `{other}`")));
            }
        };
        if let Some(t) = self.get_secs(e, "sigterm_timeout", scope)? {
            spec.sigterm_timeout = t;
        }
        if let Some(t) = self.get_secs(e, "sigkill_timeout", scope)? {
            spec.sigkill_timeout = t;
        }
        spec.cwd = self.get(e, "cwd", scope)?.map(PathBuf::from);
        Ok(())
    }

    fn new_spec(
        &self,
        e: &Element,
        label: String,
        program: PathBuf,
        args: Vec<String>,
        scope: &Scope,
    ) -> Result<ProcessSpec, LaunchError> {
        Ok(ProcessSpec {
            env: self.process_env(e, scope)?,
            output: self.output(e, scope)?,
            delay: scope.delay,
            ..ProcessSpec::new(
                label,
                program,
                args,
                format!("{}:{}", e.file.display(), e.pos.line),
            )
        })
    }

    fn node(&mut self, e: &Element, scope: &Scope) -> Result<(), LaunchError> {
        let mut attrs = vec![
            "pkg",
            "exec",
            "name",
            "namespace",
            "args",
            "ros_args",
            "composable",
            "container",
            "exec_name",
        ];
        attrs.extend(PROCESS);
        Self::check(e, &attrs, &["param", "remap", "env"])?;
        let pkg = self.require(e, "pkg", scope)?;
        let exec = self.require(e, "exec", scope)?;
        let known = || self.opts.executables.join(", ");
        if pkg != EMBODY_PKG {
            return Err(e.error(format!(
                "package `{pkg}` is not known: embody runs its own executables with pkg=\"{EMBODY_PKG}\" (known: {}); use <executable cmd=...> for other programs",
                known()
            )));
        }
        if !self.opts.executables.contains(&exec) {
            return Err(e.error(format!(
                "no executable `{exec}` in package `{pkg}` (known: {})",
                known()
            )));
        }
        let mut ros = Vec::new();
        let name = self.get(e, "name", scope)?;
        if let Some(n) = &name {
            ros.extend(["-r".to_owned(), format!("__node:={n}")]);
        }
        let ns = join_namespace(
            &scope.namespace,
            &self.get(e, "namespace", scope)?.unwrap_or_default(),
        );
        if !ns.is_empty() {
            ros.extend(["-r".to_owned(), format!("__ns:={ns}")]);
        }
        for (k, v) in &scope.params {
            ros.extend(["-p".to_owned(), format!("{k}:={v}")]);
        }
        self.params(e, "", scope, &mut ros)?;
        for (from, to) in &scope.remaps {
            ros.extend(["-r".to_owned(), format!("{from}:={to}")]);
        }
        for r in e.children.iter().filter(|c| c.tag == "remap") {
            Self::check(r, &["from", "to"], &[])?;
            let from = self.require(r, "from", scope)?;
            let to = self.require(r, "to", scope)?;
            ros.extend(["-r".to_owned(), format!("{from}:={to}")]);
        }
        if let Some(extra) = self.get(e, "ros_args", scope)? {
            ros.extend(split_words(&extra).map_err(|m| e.error(format!("`ros_args`: {m}")))?);
        }
        let mut args = Vec::new();
        if let Some(a) = self.get_list(e, "args", scope)? {
            for part in a {
                args.extend(split_words(&part).map_err(|m| e.error(format!("`args`: {m}")))?);
            }
        }
        if !ros.is_empty() {
            args.push("--ros-args".to_owned());
            args.extend(ros);
        }
        if self.get_bool(e, "composable", scope)?.unwrap_or(false) {
            if !scope.delay.is_zero() {
                return Err(e.error(
                    "a composable node cannot start late (inside <timer>): its container starts with launch",
                ));
            }
            for a in PROCESS
                .iter()
                .filter(|a| !["output", "emulate_tty"].contains(a))
            {
                if e.attr(a).is_some() {
                    return Err(e.error(format!(
                        "`{a}` applies to processes; a composable node runs inside its container"
                    )));
                }
            }
            self.composed.push(Composed {
                container: self
                    .get(e, "container", scope)?
                    .unwrap_or_else(|| "embody_container".into()),
                exec,
                args,
                env: self.process_env(e, scope)?,
                output: self.output(e, scope)?,
                origin: format!("{}:{}", e.file.display(), e.pos.line),
            });
            return Ok(());
        }
        // `exec_name` names the process in output and logs, as in ROS 2.
        let label = match self.get(e, "exec_name", scope)? {
            Some(n) => self.label(&n),
            None => self.label(name.as_deref().unwrap_or(&exec)),
        };
        let mut full = vec!["run".to_owned(), exec];
        full.extend(args);
        let mut spec = self.new_spec(e, label, self.opts.embody_exe.clone(), full, scope)?;
        self.lifecycle(e, scope, &mut spec)?;
        self.plan.processes.push(spec);
        Ok(())
    }

    fn executable(&mut self, e: &Element, scope: &Scope) -> Result<(), LaunchError> {
        let mut attrs = vec!["cmd", "name", "args", "shell", "launch-prefix"];
        attrs.extend(PROCESS);
        Self::check(e, &attrs, &["env"])?;
        if e.attr("launch-prefix").is_some() {
            return Err(e.error("`launch-prefix` is not supported; put the prefix in `cmd`"));
        }
        let cmd = self.require(e, "cmd", scope)?;
        let shell = self.get_bool(e, "shell", scope)?.unwrap_or(false);
        let mut words = if shell {
            vec!["sh".to_owned(), "-c".to_owned(), cmd.clone()]
        } else {
            split_words(&cmd).map_err(|m| e.error(format!("`cmd`: {m}")))?
        };
        if words.is_empty() {
            return Err(e.error("`cmd` is empty"));
        }
        if let Some(a) = self.get_list(e, "args", scope)? {
            for part in a {
                words.extend(split_words(&part).map_err(|m| e.error(format!("`args`: {m}")))?);
            }
        }
        let program = PathBuf::from(words.remove(0));
        let base = self.get(e, "name", scope)?.unwrap_or_else(|| {
            program
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| "process".into())
        });
        let label = self.label(&base);
        let mut spec = self.new_spec(e, label, program, words, scope)?;
        self.lifecycle(e, scope, &mut spec)?;
        self.plan.processes.push(spec);
        Ok(())
    }

    /// One container process per container name, running its composed nodes.
    fn finish_containers(&mut self) {
        let composed = std::mem::take(&mut self.composed);
        let mut by_name: BTreeMap<String, Vec<&Composed>> = BTreeMap::new();
        for c in &composed {
            by_name.entry(c.container.clone()).or_default().push(c);
        }
        let mut specs = Vec::new();
        for (name, nodes) in by_name {
            let mut args = vec!["compose".to_owned()];
            let mut env = BTreeMap::new();
            for n in &nodes {
                args.push("--node".to_owned());
                args.push(n.exec.clone());
                args.extend(n.args.iter().cloned());
                args.push("--end-node".to_owned());
                env.extend(n.env.clone());
            }
            let output = nodes
                .iter()
                .map(|n| n.output)
                .find(|o| *o != Output::Log)
                .unwrap_or(Output::Log);
            let origin = nodes.first().map(|n| n.origin.clone()).unwrap_or_default();
            let program = self.opts.embody_exe.clone();
            specs.push(ProcessSpec {
                env,
                output,
                ..ProcessSpec::new(self.label(&name), program, args, origin)
            });
        }
        self.plan.processes.extend(specs);
    }
}

/// `/a` + `b` → `/a/b`; an absolute inner namespace replaces the outer one.
fn join_namespace(outer: &str, inner: &str) -> String {
    let inner = inner.trim_end_matches('/');
    if inner.is_empty() {
        return outer.to_owned();
    }
    if inner.starts_with('/') {
        return inner.to_owned();
    }
    let joined = format!("{}/{inner}", outer.trim_end_matches('/'));
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

/// Splits a command line into words: whitespace separates, single and double quotes group,
/// a backslash escapes the next character outside single quotes.
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => cur.push(c),
            (Some(_), '\\') | (None, '\\') => match chars.next() {
                Some(n) => {
                    cur.push(n);
                    in_word = true;
                }
                None => return Err("ends with a backslash".into()),
            },
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(format!("unterminated {q} quote"));
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_namespaces() {
        assert_eq!(
            split_words(r#"a 'b c' "d \"e\"" f\ g"#).unwrap(),
            ["a", "b c", "d \"e\"", "f g"]
        );
        assert!(split_words("'open").is_err());
        assert_eq!(join_namespace("", "robot1"), "/robot1");
        assert_eq!(join_namespace("/a", "b/"), "/a/b");
        assert_eq!(join_namespace("/a", "/abs"), "/abs");
        assert_eq!(join_namespace("/a", ""), "/a");
    }
}

//! Launch substitutions: `$(var x)`, `$(env NAME [default])`, `$(eval ...)` and the rest, parsed
//! once into a [`Template`] and evaluated against a [`Resolver`] (the current launch scope).

/// What a substitution needs from the launch file being loaded.
pub trait Resolver {
    /// A launch configuration (`arg`/`let`) by name.
    fn var(&self, name: &str) -> Option<String>;
    /// An environment variable as the launched processes will see it.
    fn env(&self, name: &str) -> Option<String>;
    /// The share directory of a package (`$(find-pkg-share PKG)`).
    fn find_pkg_share(&self, pkg: &str) -> Option<String>;
    /// Directory of the launch file being read (`$(dirname)`).
    fn dirname(&self) -> String;
    /// Name of the launch file being read (`$(filename)`).
    fn filename(&self) -> String;
    /// A name made unique for this launch, the same for the same `name` (`$(anon NAME)`).
    fn anon(&self, name: &str) -> String;
    /// The directory launch logs go to (`$(log_dir)`).
    fn log_dir(&self) -> String;
}

use crate::eval;

/// A substitution or evaluation error, with the 0-based char column in the parsed text.
///
/// Evaluation errors point at the `$(` of the substitution that failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (column {column})")]
pub struct SubstError {
    /// 0-based char column within the text given to [`Template::parse`].
    pub column: usize,
    /// What is wrong, readable on its own.
    pub message: String,
}

fn fail<T>(column: usize, message: impl Into<String>) -> Result<T, SubstError> {
    Err(SubstError {
        column,
        message: message.into(),
    })
}

/// The substitutions this module knows, with how many arguments each takes.
const KINDS: &[(&str, Kind, usize, usize)] = &[
    ("var", Kind::Var, 1, 2),
    ("env", Kind::Env, 1, 2),
    ("optenv", Kind::OptEnv, 1, 2),
    ("find-pkg-share", Kind::FindPkgShare, 1, 1),
    ("find-pkg-prefix", Kind::FindPkgPrefix, 1, 1),
    ("dirname", Kind::Dirname, 0, 0),
    ("filename", Kind::Filename, 0, 0),
    ("anon", Kind::Anon, 1, 1),
    ("log_dir", Kind::LogDir, 0, 0),
    ("not", Kind::Not, 1, 1),
    ("and", Kind::And, 2, usize::MAX),
    ("or", Kind::Or, 2, usize::MAX),
    ("all", Kind::All, 0, usize::MAX),
    ("any", Kind::Any, 0, usize::MAX),
    ("equals", Kind::Equals, 2, 2),
    ("not-equals", Kind::NotEquals, 2, 2),
    ("if", Kind::If, 2, 3),
    ("eval", Kind::Eval, 1, 1),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Var,
    Env,
    OptEnv,
    FindPkgShare,
    FindPkgPrefix,
    Dirname,
    Filename,
    Anon,
    LogDir,
    Not,
    And,
    Or,
    All,
    Any,
    Equals,
    NotEquals,
    If,
    Eval,
}

fn known_names() -> String {
    KINDS
        .iter()
        .map(|(name, ..)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A string with substitutions, parsed once.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Subst(Subst),
}

#[derive(Debug, Clone, PartialEq)]
struct Subst {
    kind: Kind,
    /// Column of the `$(`.
    column: usize,
    args: Vec<Template>,
}

impl Template {
    /// Parses `text`; errors carry the 0-based char column within `text`.
    ///
    /// Syntax (ROS 2 launch frontends): `$(name arg ...)` with arguments separated by
    /// whitespace; an argument is either unquoted text (no spaces, quotes or parentheses) mixed
    /// with substitutions, or a whole `'...'`/`"..."` quoted string that may contain spaces and
    /// substitutions. A backslash escapes `$ \ ' " ( )` (and, inside arguments, whitespace); any
    /// other backslash is kept as is. Quotes outside substitutions are plain text.
    pub fn parse(text: &str) -> Result<Template, SubstError> {
        let mut p = Parser {
            chars: text.chars().collect(),
            pos: 0,
            depth: 0,
        };
        let parts = p.text_until(None)?;
        Ok(Template { parts })
    }

    /// True when the text has no `$(...)`.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// Evaluates every substitution.
    pub fn evaluate(&self, r: &dyn Resolver) -> Result<String, SubstError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Subst(s) => out.push_str(&s.evaluate(r)?),
            }
        }
        Ok(out)
    }
}

/// Parse `text` and evaluate it in one step.
pub fn substitute(text: &str, r: &dyn Resolver) -> Result<String, SubstError> {
    Template::parse(text)?.evaluate(r)
}

/// Whether a condition value (`if=`/`unless=` after substitution) is true: `true`/`1` are true,
/// `false`/`0` are false (case-insensitive, surrounding whitespace ignored); anything else is an
/// error naming the value.
pub fn parse_bool(value: &str) -> Result<bool, SubstError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => fail(
            0,
            format!("expected a boolean (true, false, 1 or 0), got `{value}`"),
        ),
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// How many substitutions enclose the current position.
    depth: usize,
}

/// Deepest nesting of substitutions.
const MAX_NESTING: usize = 32;

/// Characters a backslash escapes.
const ESCAPABLE: &[char] = &['$', '\\', '\'', '"', '(', ')'];

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at_subst(&self) -> bool {
        self.peek() == Some('$') && self.chars.get(self.pos + 1) == Some(&'(')
    }

    /// Text with substitutions up to the end (`quote == None`) or up to the closing `quote`
    /// (not consumed).
    fn text_until(&mut self, quote: Option<char>) -> Result<Vec<Part>, SubstError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == quote {
                break;
            }
            if c == '\\' {
                match self.chars.get(self.pos + 1) {
                    Some(&e) if ESCAPABLE.contains(&e) => {
                        text.push(e);
                        self.pos += 2;
                    }
                    _ => {
                        text.push(c);
                        self.pos += 1;
                    }
                }
                continue;
            }
            if self.at_subst() {
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Subst(self.subst()?));
                continue;
            }
            text.push(c);
            self.pos += 1;
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(parts)
    }

    /// `$(name args...)`, at `$(`.
    fn subst(&mut self) -> Result<Subst, SubstError> {
        if self.depth >= MAX_NESTING {
            return fail(self.pos, "substitutions nested too deeply");
        }
        self.depth += 1;
        let r = self.subst_inner();
        self.depth -= 1;
        r
    }

    fn subst_inner(&mut self) -> Result<Subst, SubstError> {
        let start = self.pos;
        self.pos += 2;
        let name_start = self.pos;
        if self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                self.pos += 1;
            }
        }
        let name: String = self.chars[name_start..self.pos].iter().collect();
        if name.is_empty() {
            return match self.peek() {
                None => fail(start, "unterminated `$(`: missing `)`"),
                Some(c) => fail(
                    name_start,
                    format!("expected a substitution name after `$(`, found `{c}`"),
                ),
            };
        }
        let Some(&(_, kind, min, max)) = KINDS.iter().find(|(n, ..)| *n == name) else {
            return fail(
                start,
                format!("unknown substitution `{name}` (known: {})", known_names()),
            );
        };
        let mut args = Vec::new();
        loop {
            let had_space = self.skip_space();
            match self.peek() {
                None => return fail(start, format!("unterminated `$({name}`: missing `)`")),
                Some(')') => {
                    self.pos += 1;
                    break;
                }
                Some(c) if !had_space => {
                    return fail(
                        self.pos,
                        format!("expected a space or `)` after `$({name}`, found `{c}`"),
                    );
                }
                Some(_) => args.push(self.argument(&name)?),
            }
            if !matches!(self.peek(), None | Some(')'))
                && !self.peek().is_some_and(char::is_whitespace)
            {
                let c = self.peek().unwrap_or(' ');
                return fail(
                    self.pos,
                    format!(
                        "expected a space or `)` after an argument of `$({name})`, found `{c}`"
                    ),
                );
            }
        }
        if args.len() < min || args.len() > max {
            let expected = match (min, max) {
                (a, b) if a == b => format!("{a}"),
                (a, usize::MAX) => format!("at least {a}"),
                (a, b) => format!("{a} to {b}"),
            };
            return fail(
                start,
                format!(
                    "`$({name})` takes {expected} argument{}, got {}",
                    if expected == "1" { "" } else { "s" },
                    args.len()
                ),
            );
        }
        if kind == Kind::Eval
            && let Some(expr) = args[0].literal()
            && let Err(e) = eval::check_syntax(&expr)
        {
            return Err(eval_error(start, &expr, e));
        }
        Ok(Subst {
            kind,
            column: start,
            args,
        })
    }

    /// Skips whitespace; true if there was any.
    fn skip_space(&mut self) -> bool {
        let from = self.pos;
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        self.pos > from
    }

    /// One argument: a quoted string, or unquoted text mixed with substitutions.
    fn argument(&mut self, name: &str) -> Result<Template, SubstError> {
        if let Some(q @ ('\'' | '"')) = self.peek() {
            let open = self.pos;
            self.pos += 1;
            let parts = self.text_until(Some(q))?;
            if self.peek() != Some(q) {
                return fail(open, format!("unterminated quoted argument: missing `{q}`"));
            }
            self.pos += 1;
            return Ok(Template { parts });
        }
        let mut parts = Vec::new();
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ')' {
                break;
            }
            if c == '\\' {
                match self.chars.get(self.pos + 1) {
                    Some(&e) if ESCAPABLE.contains(&e) || e.is_whitespace() => {
                        text.push(e);
                        self.pos += 2;
                    }
                    _ => {
                        text.push(c);
                        self.pos += 1;
                    }
                }
                continue;
            }
            if self.at_subst() {
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Subst(self.subst()?));
                continue;
            }
            match c {
                '\'' | '"' => {
                    return fail(
                        self.pos,
                        format!(
                            "quote `{c}` inside an unquoted argument of `$({name})`; \
                             quote the whole argument"
                        ),
                    );
                }
                '(' => {
                    return fail(
                        self.pos,
                        format!(
                            "`(` inside an unquoted argument of `$({name})`; quote the argument \
                             or escape it as `\\(`"
                        ),
                    );
                }
                _ => {}
            }
            text.push(c);
            self.pos += 1;
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template { parts })
    }
}

impl Template {
    /// The text, when there are no substitutions.
    fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Subst(_) => return None,
            }
        }
        Some(out)
    }
}

fn eval_error(column: usize, expr: &str, e: eval::EvalError) -> SubstError {
    SubstError {
        column,
        message: format!(
            "$(eval): {} (at column {} of `{expr}`)",
            e.message, e.column
        ),
    }
}

impl Subst {
    fn arg(&self, i: usize, r: &dyn Resolver) -> Result<String, SubstError> {
        self.args[i].evaluate(r)
    }

    fn cond(&self, i: usize, r: &dyn Resolver) -> Result<bool, SubstError> {
        let value = self.arg(i, r)?;
        parse_bool(&value).map_err(|e| SubstError {
            column: self.column,
            message: format!("{}: {}", self.name(), e.message),
        })
    }

    fn name(&self) -> String {
        let name = KINDS
            .iter()
            .find(|(_, k, ..)| *k == self.kind)
            .map_or("?", |(n, ..)| *n);
        format!("$({name})")
    }

    fn evaluate(&self, r: &dyn Resolver) -> Result<String, SubstError> {
        let col = self.column;
        let bool_str = |b: bool| Ok(if b { "true" } else { "false" }.to_string());
        match self.kind {
            Kind::Var => {
                let name = self.arg(0, r)?;
                match r.var(&name) {
                    Some(v) => Ok(v),
                    None if self.args.len() == 2 => self.arg(1, r),
                    None => fail(col, format!("undefined launch configuration `{name}`")),
                }
            }
            Kind::Env | Kind::OptEnv => {
                let name = self.arg(0, r)?;
                match r.env(&name) {
                    Some(v) => Ok(v),
                    None if self.args.len() == 2 => self.arg(1, r),
                    None if self.kind == Kind::OptEnv => Ok(String::new()),
                    None => fail(
                        col,
                        format!(
                            "environment variable `{name}` is not set \
                             (use `$(env {name} default)` or `$(optenv {name})`)"
                        ),
                    ),
                }
            }
            Kind::FindPkgShare | Kind::FindPkgPrefix => {
                let pkg = self.arg(0, r)?;
                let Some(share) = r.find_pkg_share(&pkg) else {
                    return fail(col, format!("package `{pkg}` not found"));
                };
                if self.kind == Kind::FindPkgShare {
                    return Ok(share);
                }
                // ament layout: <prefix>/share/<pkg>
                let trimmed = share.trim_end_matches('/');
                match trimmed
                    .strip_suffix(pkg.as_str())
                    .and_then(|s| s.strip_suffix('/'))
                    .and_then(|s| s.strip_suffix("share"))
                {
                    Some(prefix) => {
                        let prefix = prefix.trim_end_matches('/');
                        Ok(if prefix.is_empty() {
                            "/".to_string()
                        } else {
                            prefix.to_string()
                        })
                    }
                    None => fail(
                        col,
                        format!(
                            "cannot derive the prefix of package `{pkg}` from its share \
                             directory `{share}` (expected `<prefix>/share/{pkg}`)"
                        ),
                    ),
                }
            }
            Kind::Dirname => Ok(r.dirname()),
            Kind::Filename => Ok(r.filename()),
            Kind::Anon => Ok(r.anon(&self.arg(0, r)?)),
            Kind::LogDir => Ok(r.log_dir()),
            Kind::Not => bool_str(!self.cond(0, r)?),
            // Like ROS, every operand is evaluated (and must be a boolean).
            Kind::And | Kind::All => {
                let mut all = true;
                for i in 0..self.args.len() {
                    all &= self.cond(i, r)?;
                }
                bool_str(all)
            }
            Kind::Or | Kind::Any => {
                let mut any = false;
                for i in 0..self.args.len() {
                    any |= self.cond(i, r)?;
                }
                bool_str(any)
            }
            Kind::Equals | Kind::NotEquals => {
                let eq = loose_equals(&self.arg(0, r)?, &self.arg(1, r)?);
                bool_str(eq == (self.kind == Kind::Equals))
            }
            Kind::If => {
                if self.cond(0, r)? {
                    self.arg(1, r)
                } else if self.args.len() == 3 {
                    self.arg(2, r)
                } else {
                    Ok(String::new())
                }
            }
            Kind::Eval => {
                let expr = self.arg(0, r)?;
                eval::evaluate(&expr).map_err(|e| eval_error(col, &expr, e))
            }
        }
    }
}

/// ROS's `equals`: booleans compare as booleans (`true` equals `1`), numbers as numbers
/// (`1` equals `1.0`, with float tolerance), anything else as strings.
fn loose_equals(a: &str, b: &str) -> bool {
    let as_bool = |s: &str| match s.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    };
    if let (Some(x), Some(y)) = (as_bool(a), as_bool(b)) {
        return x == y;
    }
    let as_float = |s: &str| {
        let t = s.trim();
        let body = t.trim_start_matches(['+', '-']);
        let ok = !body.is_empty()
            && (body
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'))
                || matches!(
                    body.to_ascii_lowercase().as_str(),
                    "inf" | "infinity" | "nan"
                ));
        if ok {
            t.replace('_', "").parse::<f64>().ok()
        } else {
            None
        }
    };
    if let (Some(x), Some(y)) = (as_float(a), as_float(b)) {
        // math.isclose defaults: rel_tol=1e-9, abs_tol=0.
        return x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs());
    }
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct TestResolver {
        vars: HashMap<&'static str, &'static str>,
        env: HashMap<&'static str, &'static str>,
    }

    impl Resolver for TestResolver {
        fn var(&self, name: &str) -> Option<String> {
            self.vars.get(name).map(|v| v.to_string())
        }
        fn env(&self, name: &str) -> Option<String> {
            self.env.get(name).map(|v| v.to_string())
        }
        fn find_pkg_share(&self, pkg: &str) -> Option<String> {
            match pkg {
                "demo" | "my_bringup" => Some(format!("/opt/ros/jazzy/share/{pkg}")),
                "odd" => Some("/somewhere/else".into()),
                _ => None,
            }
        }
        fn dirname(&self) -> String {
            "/ws/launch".into()
        }
        fn filename(&self) -> String {
            "robot.launch.xml".into()
        }
        fn anon(&self, name: &str) -> String {
            format!("{name}_1234")
        }
        fn log_dir(&self) -> String {
            "/tmp/log/run1".into()
        }
    }

    fn resolver() -> TestResolver {
        TestResolver {
            vars: HashMap::from([
                ("robot", "r1"),
                ("which", "robot"),
                ("n", "21"),
                ("flag", "true"),
                ("off", "False"),
                ("my var", "spaced"),
                ("a(b)", "parens"),
                ("empty", ""),
            ]),
            env: HashMap::from([("HOME", "/home/u"), ("EMPTY", "")]),
        }
    }

    fn ok(text: &str) -> String {
        substitute(text, &resolver()).unwrap_or_else(|e| panic!("`{text}` failed: {e:?}"))
    }

    fn fails(text: &str) -> (usize, String) {
        match substitute(text, &resolver()) {
            Ok(v) => panic!("`{text}` gave {v:?}, expected an error"),
            Err(e) => (e.column, e.message),
        }
    }

    /// An error from `Template::parse` (not from evaluation).
    fn parse_fails(text: &str) -> (usize, String) {
        match Template::parse(text) {
            Ok(t) => panic!("`{text}` parsed as {t:?}, expected an error"),
            Err(e) => (e.column, e.message),
        }
    }

    #[test]
    fn literals() {
        for text in [
            "",
            "plain text",
            "it's \"fine\"",
            "100% $5 $ (x) a)b",
            "C:\\path\\n",
        ] {
            let t = Template::parse(text).unwrap();
            assert!(t.is_literal(), "{text}");
            assert_eq!(t.evaluate(&resolver()).unwrap(), text);
        }
        assert!(!Template::parse("a $(var robot)").unwrap().is_literal());
        // Escapes make `$(` literal too.
        let t = Template::parse("\\$(var robot)").unwrap();
        assert!(t.is_literal());
        assert_eq!(t.evaluate(&resolver()).unwrap(), "$(var robot)");
    }

    #[test]
    fn escapes() {
        assert_eq!(ok("cost: \\$5"), "cost: $5");
        assert_eq!(ok("a\\\\b"), "a\\b");
        assert_eq!(ok("\\\\$(var robot)"), "\\r1");
        assert_eq!(ok("keep \\d+ as is"), "keep \\d+ as is");
        assert_eq!(ok("$(var a\\(b\\))"), "parens");
        assert_eq!(ok("$(var my\\ var)"), "spaced");
        assert_eq!(ok("$(eval '\\'a\\' + \"b\"')"), "ab");
    }

    #[test]
    fn var_and_nesting() {
        assert_eq!(ok("$(var robot)"), "r1");
        assert_eq!(ok("/$(var robot)/base_link"), "/r1/base_link");
        assert_eq!(ok("$(var robot)$(var robot)"), "r1r1");
        assert_eq!(ok("$(var $(var which))"), "r1");
        assert_eq!(ok("$(var ro$(var empty)bot)"), "r1");
        assert_eq!(ok("$(var 'my var')"), "spaced");
        assert_eq!(ok("$(var \"my var\")"), "spaced");
        assert_eq!(ok("$(var missing fallback)"), "fallback");
        assert_eq!(ok("$(var missing '')"), "");
        assert_eq!(ok("$(var robot fallback)"), "r1");
        assert_eq!(ok("$(var empty)"), "");
        // Whitespace between arguments: any amount, newlines included.
        assert_eq!(ok("$(var\n  robot )"), "r1");
        assert_eq!(ok("$(equals  a \t a)"), "true");
        assert_eq!(
            fails("a $(var missing)"),
            (2, "undefined launch configuration `missing`".into())
        );
        assert_eq!(
            fails("é $(var $(var nope))"),
            (8, "undefined launch configuration `nope`".into())
        );
    }

    #[test]
    fn env_and_optenv() {
        assert_eq!(ok("$(env HOME)/.ros"), "/home/u/.ros");
        assert_eq!(ok("$(env EMPTY)"), "");
        assert_eq!(ok("$(env NOPE '')"), "");
        assert_eq!(ok("[$(env NOPE \"\")]"), "[]");
        assert_eq!(ok("$(env NOPE dflt)"), "dflt");
        assert_eq!(ok("$(env NOPE 'a b')"), "a b");
        assert_eq!(ok("$(env HOME dflt)"), "/home/u");
        assert_eq!(ok("[$(optenv NOPE)]"), "[]");
        assert_eq!(ok("$(optenv NOPE x)"), "x");
        assert_eq!(ok("$(optenv HOME x)"), "/home/u");
        assert_eq!(
            fails("x=$(env NOPE)"),
            (
                2,
                "environment variable `NOPE` is not set (use `$(env NOPE default)` or \
                 `$(optenv NOPE)`)"
                    .into()
            )
        );
    }

    #[test]
    fn launch_file_context() {
        assert_eq!(
            ok("$(find-pkg-share my_bringup)/config"),
            "/opt/ros/jazzy/share/my_bringup/config"
        );
        assert_eq!(ok("$(find-pkg-prefix demo)"), "/opt/ros/jazzy");
        assert_eq!(
            fails("$(find-pkg-share nope)"),
            (0, "package `nope` not found".into())
        );
        assert_eq!(
            fails("$(find-pkg-prefix nope)"),
            (0, "package `nope` not found".into())
        );
        assert_eq!(
            fails("$(find-pkg-prefix odd)"),
            (
                0,
                "cannot derive the prefix of package `odd` from its share directory \
                 `/somewhere/else` (expected `<prefix>/share/odd`)"
                    .into()
            )
        );
        assert_eq!(ok("$(dirname)/x.yaml"), "/ws/launch/x.yaml");
        assert_eq!(ok("$(filename)"), "robot.launch.xml");
        assert_eq!(ok("$(anon talker)"), "talker_1234");
        assert_eq!(ok("$(log_dir)"), "/tmp/log/run1");
    }

    #[test]
    fn boolean_substitutions() {
        assert_eq!(ok("$(not true)"), "false");
        assert_eq!(ok("$(not 0)"), "true");
        assert_eq!(ok("$(not $(var off))"), "true");
        assert_eq!(ok("$(and true 1)"), "true");
        assert_eq!(ok("$(and true false)"), "false");
        assert_eq!(ok("$(and true true true)"), "true");
        assert_eq!(ok("$(and true true 0)"), "false");
        assert_eq!(ok("$(or false 0)"), "false");
        assert_eq!(ok("$(or false $(var flag))"), "true");
        assert_eq!(ok("$(all)"), "true");
        assert_eq!(ok("$(all true 1 TRUE)"), "true");
        assert_eq!(ok("$(any)"), "false");
        assert_eq!(ok("$(any 0 false 1)"), "true");
        assert_eq!(
            fails("$(not maybe)"),
            (
                0,
                "$(not): expected a boolean (true, false, 1 or 0), got `maybe`".into()
            )
        );
        // Like ROS, every operand of and/or is checked.
        assert_eq!(
            fails(" $(and false yes)"),
            (
                1,
                "$(and): expected a boolean (true, false, 1 or 0), got `yes`".into()
            )
        );
        assert_eq!(
            parse_fails("$(and true)"),
            (0, "`$(and)` takes at least 2 arguments, got 1".into())
        );
    }

    #[test]
    fn equals_and_if() {
        assert_eq!(ok("$(equals a a)"), "true");
        assert_eq!(ok("$(equals a b)"), "false");
        assert_eq!(ok("$(equals true 1)"), "true");
        assert_eq!(ok("$(equals True true)"), "true");
        assert_eq!(ok("$(equals 1 1.0)"), "true");
        assert_eq!(ok("$(equals 0.1 0.10000000001)"), "true");
        assert_eq!(ok("$(equals 0 false)"), "true");
        assert_eq!(ok("$(equals 2 2.5)"), "false");
        assert_eq!(ok("$(equals A a)"), "false");
        assert_eq!(ok("$(equals '' '')"), "true");
        assert_eq!(ok("$(equals $(var robot) r1)"), "true");
        assert_eq!(ok("$(not-equals a b)"), "true");
        assert_eq!(ok("$(not-equals 1 true)"), "false");
        assert_eq!(ok("$(if true yes no)"), "yes");
        assert_eq!(ok("$(if 0 yes no)"), "no");
        assert_eq!(ok("[$(if false yes)]"), "[]");
        assert_eq!(
            ok("$(if $(equals $(var robot) r1) '/$(var robot)' '')"),
            "/r1"
        );
        // Only the chosen branch is evaluated.
        assert_eq!(ok("$(if true ok $(var missing))"), "ok");
        assert_eq!(ok("$(if false $(var missing) ok)"), "ok");
        assert_eq!(
            fails("$(if maybe a b)"),
            (
                0,
                "$(if): expected a boolean (true, false, 1 or 0), got `maybe`".into()
            )
        );
        assert_eq!(
            parse_fails("$(if true)"),
            (0, "`$(if)` takes 2 to 3 arguments, got 1".into())
        );
    }

    #[test]
    fn eval_substitution() {
        assert_eq!(ok("$(eval '1 + 2')"), "3");
        assert_eq!(ok("$(eval '2.0 / 4')"), "0.5");
        assert_eq!(ok("$(eval '7 // 2')"), "3");
        assert_eq!(ok("$(eval '3 > 2 and \"a\" == \"a\"')"), "True");
        assert_eq!(ok("$(eval \"'x' + 'y'\")"), "xy");
        assert_eq!(ok("$(eval '1/3')"), "0.3333333333333333");
        assert_eq!(ok("$(eval 1+2)"), "3");
        assert_eq!(ok("$(eval '$(var n) * 2')"), "42");
        assert_eq!(ok("$(eval \"'$(var flag)' == 'true'\")"), "True");
        assert_eq!(ok("$(eval \"'$(var off)' == 'true'\")"), "False");
        assert_eq!(ok("$(eval \"'$(var robot)' + '_x'\")"), "r1_x");
        assert_eq!(ok("$(eval '$(env NOPE \"7\") + 1')"), "8");
        assert_eq!(ok("$(eval '\"a b\" + \"c\"')"), "a bc");
        assert_eq!(ok("$(eval 'pi / 2')"), "1.5707963267948966");
        // The result feeds other substitutions.
        assert_eq!(ok("$(if $(eval \"'$(var flag)' == 'true'\") on off)"), "on");
        // Syntax errors in a literal expression surface at parse time.
        assert_eq!(
            parse_fails("x $(eval '1 +')"),
            (
                2,
                "$(eval): unexpected end of expression (at column 3 of `1 +`)".into()
            )
        );
        // Runtime errors after substitution, pointing at the `$(eval`.
        let t = Template::parse("ab $(eval '$(var n) / 0')").unwrap();
        let e = t.evaluate(&resolver()).unwrap_err();
        assert_eq!(e.column, 3);
        assert_eq!(
            e.message,
            "$(eval): division by zero (at column 3 of `21 / 0`)"
        );
        assert_eq!(
            fails("$(eval '$(var flag) == 1')"),
            (
                0,
                "$(eval): unknown name `true` (Python spells it `True`; to test a launch \
                 value, compare strings: '$(var x)' == 'true') (at column 0 of `true == 1`)"
                    .into()
            )
        );
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            parse_fails("abc $(var x"),
            (4, "unterminated `$(var`: missing `)`".into())
        );
        assert_eq!(
            parse_fails("$(var $(var x)"),
            (0, "unterminated `$(var`: missing `)`".into())
        );
        assert_eq!(
            parse_fails("ab$("),
            (2, "unterminated `$(`: missing `)`".into())
        );
        assert_eq!(
            parse_fails("$( var x)"),
            (
                2,
                "expected a substitution name after `$(`, found ` `".into()
            )
        );
        assert_eq!(
            parse_fails("$()"),
            (
                2,
                "expected a substitution name after `$(`, found `)`".into()
            )
        );
        assert_eq!(
            parse_fails("x$(bogus a)"),
            (
                1,
                "unknown substitution `bogus` (known: var, env, optenv, find-pkg-share, \
                 find-pkg-prefix, dirname, filename, anon, log_dir, not, and, or, all, any, \
                 equals, not-equals, if, eval)"
                    .into()
            )
        );
        assert_eq!(
            parse_fails("$(var)"),
            (0, "`$(var)` takes 1 to 2 arguments, got 0".into())
        );
        assert_eq!(
            parse_fails("$(var a b c)"),
            (0, "`$(var)` takes 1 to 2 arguments, got 3".into())
        );
        assert_eq!(
            parse_fails("$(dirname x)"),
            (0, "`$(dirname)` takes 0 arguments, got 1".into())
        );
        assert_eq!(
            parse_fails("$(anon)"),
            (0, "`$(anon)` takes 1 argument, got 0".into())
        );
        assert_eq!(
            parse_fails("$(var 'abc)"),
            (6, "unterminated quoted argument: missing `'`".into())
        );
        assert_eq!(
            parse_fails("$(var a'b')"),
            (
                7,
                "quote `'` inside an unquoted argument of `$(var)`; quote the whole argument"
                    .into()
            )
        );
        assert_eq!(
            parse_fails("$(var 'a'b)"),
            (
                9,
                "expected a space or `)` after an argument of `$(var)`, found `b`".into()
            )
        );
        assert_eq!(
            parse_fails("$(var a(b))"),
            (
                7,
                "`(` inside an unquoted argument of `$(var)`; quote the argument or escape it \
                 as `\\(`"
                    .into()
            )
        );
        assert_eq!(
            parse_fails("$(var'x')"),
            (5, "expected a space or `)` after `$(var`, found `'`".into())
        );
        let deep = format!("{}robot{}", "$(var ".repeat(40), ")".repeat(40));
        assert_eq!(
            parse_fails(&deep),
            (32 * 6, "substitutions nested too deeply".into())
        );
        // Columns are chars, not bytes.
        assert_eq!(
            parse_fails("héé $(var"),
            (4, "unterminated `$(var`: missing `)`".into())
        );
    }

    #[test]
    fn parse_bool_values() {
        for (v, want) in [
            ("true", true),
            (" TRUE ", true),
            ("True", true),
            ("1", true),
            ("false", false),
            ("False\n", false),
            ("0", false),
        ] {
            assert_eq!(parse_bool(v), Ok(want), "{v:?}");
        }
        for v in ["yes", "", "2", "on", "truee"] {
            assert_eq!(
                parse_bool(v),
                Err(SubstError {
                    column: 0,
                    message: format!("expected a boolean (true, false, 1 or 0), got `{v}`"),
                })
            );
        }
    }

    #[test]
    fn templates_compare_and_render_errors() {
        let a = Template::parse("x $(var a)").unwrap();
        assert_eq!(a, Template::parse("x $(var a)").unwrap());
        assert_ne!(a, Template::parse("x $(var b)").unwrap());
        assert_eq!(a.clone(), a);
        let e = substitute("ab $(var nope)", &resolver()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "undefined launch configuration `nope` (column 3)"
        );
    }
}

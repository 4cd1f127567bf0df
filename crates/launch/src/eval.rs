//! The Python expression subset behind `$(eval '...')`.
//!
//! ROS 2 launch hands the (already substituted) text to Python's `eval()` and renders the result
//! with `str()`. This module implements the part of Python that launch files use: literals
//! (int, float, str, True/False/None, lists and tuples), arithmetic with Python's semantics (`/`
//! is always float, `//` and `%` floor, `**` right-associative), comparisons (chained), `in`,
//! `and`/`or`/`not` returning operands, `a if c else b`, the builtins `int float str bool abs min
//! max round len`, a few `str` methods, indexing and slicing, and the `math` names that ROS makes
//! available implicitly (`pi`, `sqrt(2)`, `math.radians(90)`, ...). Integers are 64-bit: where
//! Python would grow a big integer this reports an overflow instead.

use std::cmp::Ordering;

/// An error with the 0-based char column in the expression where it was found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EvalError {
    pub(crate) column: usize,
    pub(crate) message: String,
}

type Result<T> = std::result::Result<T, EvalError>;

fn err<T>(column: usize, message: impl Into<String>) -> Result<T> {
    Err(EvalError {
        column,
        message: message.into(),
    })
}

/// Evaluates `expr` and renders the value like Python's `str()`.
pub(crate) fn evaluate(expr: &str) -> Result<String> {
    let node = parse(expr)?;
    Ok(eval(&node)?.to_str())
}

/// Checks that `expr` parses, without evaluating it.
pub(crate) fn check_syntax(expr: &str) -> Result<()> {
    parse(expr).map(|_| ())
}

/// Longest string (in bytes) that `*` may build.
const MAX_STR_LEN: usize = 16 << 20;

const OVERFLOW: &str = "integer overflow: the result does not fit in 64 bits";

/// Most tokens an expression may have (bounds the recursion when evaluating).
const MAX_TOKENS: usize = 1000;

/// Deepest nesting of parentheses, unary operators and conditionals.
const MAX_DEPTH: usize = 16;

// ---------------------------------------------------------------------------------------------
// Values

#[derive(Debug, Clone, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Tuple(Vec<Value>),
}

/// A number, with `bool` promoted to `int` as Python does.
#[derive(Clone, Copy)]
enum Num {
    I(i64),
    F(f64),
}

impl Num {
    fn f64(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::F(f) => f,
        }
    }
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
        }
    }

    fn num(&self) -> Option<Num> {
        match self {
            Value::Bool(b) => Some(Num::I(i64::from(*b))),
            Value::Int(i) => Some(Num::I(*i)),
            Value::Float(f) => Some(Num::F(*f)),
            _ => None,
        }
    }

    /// An integer operand (`int` or `bool`), for repetition, indexing and `round` digits.
    fn int(&self) -> Option<i64> {
        match self {
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(v) | Value::Tuple(v) => !v.is_empty(),
        }
    }

    /// Python's `str()`.
    fn to_str(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            other => other.repr(),
        }
    }

    /// Python's `repr()`.
    fn repr(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => float_repr(*f),
            Value::Str(s) => str_repr(s),
            Value::List(items) => {
                let items: Vec<String> = items.iter().map(Value::repr).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Tuple(items) if items.len() == 1 => format!("({},)", items[0].repr()),
            Value::Tuple(items) => {
                let items: Vec<String> = items.iter().map(Value::repr).collect();
                format!("({})", items.join(", "))
            }
        }
    }

    /// The items of an iterable (`str`, `list`, `tuple`).
    fn items(&self, col: usize) -> Result<Vec<Value>> {
        match self {
            Value::Str(s) => Ok(s.chars().map(|c| Value::Str(c.to_string())).collect()),
            Value::List(v) | Value::Tuple(v) => Ok(v.clone()),
            other => err(
                col,
                format!("'{}' object is not iterable", other.type_name()),
            ),
        }
    }
}

/// Python's `repr(float)`: the shortest string that round-trips, in fixed notation when the
/// decimal exponent is in -4..16, else in exponent notation with a signed two-digit exponent.
fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0.0");
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e-7".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // The value is 0.DIGITS × 10^decpt.
    let decpt = exp + 1;
    let body = if -4 < decpt && decpt <= 16 {
        let n = digits.len() as i32;
        if decpt <= 0 {
            format!("0.{}{digits}", "0".repeat((-decpt) as usize))
        } else if decpt >= n {
            format!("{digits}{}.0", "0".repeat((decpt - n) as usize))
        } else {
            let (int, frac) = digits.split_at(decpt as usize);
            format!("{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let e = decpt - 1;
        let esign = if e < 0 { '-' } else { '+' };
        format!("{mantissa}e{esign}{:02}", e.abs())
    };
    format!("{sign}{body}")
}

/// Python's `repr(str)`.
fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(i64),
    Float(f64),
    Str(String),
    Name(String),
    Op(&'static str),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    col: usize,
}

/// Operators, longest first.
const OPS: &[&str] = &[
    "**", "//", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "(", ")", "[", "]", ",",
    ":", ".", "=",
];

/// Operators Python has that this subset does not.
const UNSUPPORTED_OPS: &[&str] = &["<<", ">>", "&", "|", "^", "~", "@", ":=", "{", "}", ";"];

fn lex(src: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            return err(i, "comments are not allowed in an expression");
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let (tok, next) = lex_number(&chars, i)?;
            out.push(Token { tok, col: i });
            i = next;
            continue;
        }
        if c == '\'' || c == '"' {
            let (s, next) = lex_string(&chars, i, false)?;
            out.push(Token {
                tok: Tok::Str(s),
                col: i,
            });
            i = next;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            if matches!(chars.get(i), Some('\'' | '"')) {
                match name.to_ascii_lowercase().as_str() {
                    "r" | "u" => {
                        let (s, next) = lex_string(&chars, i, name.eq_ignore_ascii_case("r"))?;
                        out.push(Token {
                            tok: Tok::Str(s),
                            col: start,
                        });
                        i = next;
                        continue;
                    }
                    "f" | "rf" | "fr" => return err(start, "f-strings are not supported"),
                    "b" | "rb" | "br" => return err(start, "bytes literals are not supported"),
                    _ => {}
                }
            }
            out.push(Token {
                tok: Tok::Name(name),
                col: start,
            });
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) {
            // `<<`, `>>` start with a supported operator; check those first.
            if let Some(bad) = UNSUPPORTED_OPS
                .iter()
                .find(|bad| bad.len() > op.len() && rest.starts_with(**bad))
            {
                return err(i, format!("operator `{bad}` is not supported"));
            }
            out.push(Token {
                tok: Tok::Op(op),
                col: i,
            });
            i += op.chars().count();
            continue;
        }
        if let Some(bad) = UNSUPPORTED_OPS.iter().find(|bad| rest.starts_with(**bad)) {
            return err(i, format!("operator `{bad}` is not supported"));
        }
        return err(i, format!("unexpected character `{c}`"));
    }
    out.push(Token {
        tok: Tok::End,
        col: chars.len(),
    });
    Ok(out)
}

fn lex_number(chars: &[char], start: usize) -> Result<(Tok, usize)> {
    let mut i = start;
    let invalid = |col: usize| err(col, "invalid number literal");
    let radix = match (chars[i], chars.get(i + 1).map(|c| c.to_ascii_lowercase())) {
        ('0', Some('x')) => 16,
        ('0', Some('o')) => 8,
        ('0', Some('b')) => 2,
        _ => 10,
    };
    if radix != 10 {
        i += 2;
        let digits_start = i;
        while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
            i += 1;
        }
        let raw: String = chars[digits_start..i].iter().collect();
        let digits = raw.strip_prefix('_').unwrap_or(&raw);
        if !underscores_ok(digits) {
            return invalid(start);
        }
        let digits: String = digits.chars().filter(|c| *c != '_').collect();
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return invalid(start);
        }
        return match i64::from_str_radix(&digits, radix) {
            Ok(v) => Ok((Tok::Int(v), i)),
            Err(_) => err(start, "integer literal too large (64-bit integers only)"),
        };
    }
    while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '_') {
        i += 1;
    }
    let mut float = false;
    if chars.get(i) == Some(&'.') {
        float = true;
        i += 1;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '_') {
            i += 1;
        }
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('+' | '-')) {
            j += 1;
        }
        if chars.get(j).is_some_and(char::is_ascii_digit) {
            float = true;
            i = j;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '_') {
                i += 1;
            }
        }
    }
    if chars
        .get(i)
        .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
    {
        return invalid(start);
    }
    let raw: String = chars[start..i].iter().collect();
    if !underscores_ok(&raw) {
        return invalid(start);
    }
    let text: String = raw.chars().filter(|c| *c != '_').collect();
    if float {
        return match text.parse::<f64>() {
            Ok(f) => Ok((Tok::Float(f), i)),
            Err(_) => invalid(start),
        };
    }
    if text.len() > 1 && text.starts_with('0') && text.chars().any(|c| c != '0') {
        return err(
            start,
            "leading zeros in decimal integer literals are not permitted (use 0o for octal)",
        );
    }
    match text.parse::<i64>() {
        Ok(v) => Ok((Tok::Int(v), i)),
        Err(_) => err(start, "integer literal too large (64-bit integers only)"),
    }
}

/// Python allows `_` only between two digits.
fn underscores_ok(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    chars.iter().enumerate().all(|(i, c)| {
        *c != '_'
            || (i > 0
                && i + 1 < chars.len()
                && chars[i - 1].is_ascii_alphanumeric()
                && chars[i + 1].is_ascii_alphanumeric())
    })
}

/// Lexes a string literal whose opening quote is at `start`; returns its value and the index
/// after the closing quote.
fn lex_string(chars: &[char], start: usize, raw: bool) -> Result<(String, usize)> {
    let q = chars[start];
    let triple = chars.get(start + 1) == Some(&q) && chars.get(start + 2) == Some(&q);
    let mut i = start + if triple { 3 } else { 1 };
    let mut out = String::new();
    loop {
        let Some(&c) = chars.get(i) else {
            return err(start, "unterminated string literal");
        };
        if c == q {
            if !triple {
                return Ok((out, i + 1));
            }
            if chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q) {
                return Ok((out, i + 3));
            }
        }
        if c != '\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&e) = chars.get(i + 1) else {
            return err(start, "unterminated string literal");
        };
        if raw {
            out.push('\\');
            out.push(e);
            i += 2;
            continue;
        }
        i += 2;
        match e {
            '\n' => {}
            '\\' | '\'' | '"' => out.push(e),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                let mut n = 1;
                while n < 3 {
                    match chars.get(i).and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            i += 1;
                            n += 1;
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            'x' | 'u' | 'U' => {
                let len = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.iter().skip(i).take(len).collect();
                let code = (hex.chars().count() == len
                    && hex.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| u32::from_str_radix(&hex, 16).ok())
                .flatten()
                .and_then(char::from_u32);
                match code {
                    Some(c) => out.push(c),
                    None => return err(i - 2, format!("invalid `\\{e}` escape in string literal")),
                }
                i += len;
            }
            'N' => return err(i - 2, "`\\N{...}` escapes are not supported"),
            other => {
                // Python keeps unknown escapes as they are.
                out.push('\\');
                out.push(other);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parser

#[derive(Debug, Clone, Copy, PartialEq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
}

impl BinOp {
    fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Pow => "**",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Is,
    IsNot,
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::In => "in",
            CmpOp::NotIn => "not in",
            CmpOp::Is => "is",
            CmpOp::IsNot => "is not",
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    col: usize,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Lit(Value),
    /// A name; `math.x` is stored as `math.x`.
    Name(String),
    Neg(Box<Node>),
    Pos(Box<Node>),
    Not(Box<Node>),
    /// `**` (right-associative, so nested).
    Pow(Box<Node>, Box<Node>),
    /// A left-associative chain `first op1 x1 op2 x2 ...` of `+ -` or `* / // %`, each op with
    /// its column; kept flat so that evaluating long chains does not recurse.
    Arith(Box<Node>, Vec<(BinOp, usize, Node)>),
    /// `first op1 x1 op2 x2 ...`, each op with its column.
    Cmp(Box<Node>, Vec<(CmpOp, usize, Node)>),
    /// `a and b and ...`, flat.
    And(Vec<Node>),
    /// `a or b or ...`, flat.
    Or(Vec<Node>),
    IfElse(Box<Node>, Box<Node>, Box<Node>),
    Call(String, Vec<Node>),
    Method(Box<Node>, String, Vec<Node>),
    Index(Box<Node>, Box<Node>),
    Slice(Box<Node>, [Option<Box<Node>>; 3]),
    List(Vec<Node>),
    Tuple(Vec<Node>),
}

const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "is", "if", "else", "True", "False", "None", "lambda", "for",
    "while", "def", "class", "import", "from", "return", "yield", "await", "async", "del", "pass",
    "with", "as", "global", "nonlocal", "assert", "raise", "try", "except", "finally", "elif",
    "break", "continue",
];

fn parse(src: &str) -> Result<Node> {
    let tokens = lex(src)?;
    if tokens.len() == 1 {
        return err(0, "empty expression");
    }
    if tokens.len() > MAX_TOKENS {
        return err(
            tokens[MAX_TOKENS].col,
            format!("expression too long (more than {MAX_TOKENS} tokens)"),
        );
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let node = p.expr_list()?;
    let t = p.peek();
    match t.tok {
        Tok::End => {}
        Tok::Op("=") => {
            return err(
                t.col,
                "assignment is not allowed in an expression (use `==` to compare)",
            );
        }
        other => return err(t.col, format!("unexpected {}", describe(&other))),
    }
    Ok(node)
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Int(i) => format!("number `{i}`"),
        Tok::Float(f) => format!("number `{}`", float_repr(*f)),
        Tok::Str(s) => format!("string {}", str_repr(s)),
        Tok::Name(n) => format!("`{n}`"),
        Tok::Op(o) => format!("`{o}`"),
        Tok::End => "end of expression".into(),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    /// Runs a recursive rule, refusing to nest deeper than [`MAX_DEPTH`].
    fn nested(&mut self, rule: fn(&mut Self) -> Result<Node>) -> Result<Node> {
        if self.depth >= MAX_DEPTH {
            return err(self.peek().col, "expression nested too deeply");
        }
        self.depth += 1;
        let r = rule(self);
        self.depth -= 1;
        r
    }

    fn peek(&self) -> Token {
        self.tokens[self.pos].clone()
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.tokens[(self.pos + n).min(self.tokens.len() - 1)].tok
    }

    fn bump(&mut self) -> Token {
        let t = self.peek();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek_at(0), Tok::Op(o) if *o == op)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek_at(0), Tok::Name(n) if n == kw)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let yes = self.is_op(op);
        if yes {
            self.bump();
        }
        yes
    }

    fn expect_op(&mut self, op: &str, what: &str) -> Result<()> {
        if self.eat_op(op) {
            return Ok(());
        }
        let t = self.peek();
        err(
            t.col,
            format!("expected `{op}` {what}, found {}", describe(&t.tok)),
        )
    }

    /// `expr (',' expr)* [',']`: a bare tuple at the top level.
    fn expr_list(&mut self) -> Result<Node> {
        let first = self.expr()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let col = first.col;
        let mut items = vec![first];
        while self.eat_op(",") {
            if matches!(self.peek_at(0), Tok::End) || self.is_op(")") {
                break;
            }
            items.push(self.expr()?);
        }
        Ok(Node {
            col,
            kind: Kind::Tuple(items),
        })
    }

    /// `disjunction ['if' disjunction 'else' expr]`
    fn expr(&mut self) -> Result<Node> {
        self.nested(Self::expr_inner)
    }

    fn expr_inner(&mut self) -> Result<Node> {
        if self.is_kw("lambda") {
            return err(self.peek().col, "lambda is not supported");
        }
        let body = self.disjunction()?;
        if !self.is_kw("if") {
            return Ok(body);
        }
        let if_col = self.bump().col;
        let cond = self.disjunction()?;
        if !self.is_kw("else") {
            let t = self.peek();
            return err(
                t.col,
                format!(
                    "expected `else` after `... if condition`, found {}",
                    describe(&t.tok)
                ),
            );
        }
        self.bump();
        let orelse = self.expr()?;
        Ok(Node {
            col: if_col,
            kind: Kind::IfElse(Box::new(body), Box::new(cond), Box::new(orelse)),
        })
    }

    fn disjunction(&mut self) -> Result<Node> {
        let first = self.conjunction()?;
        if !self.is_kw("or") {
            return Ok(first);
        }
        let col = first.col;
        let mut items = vec![first];
        while self.is_kw("or") {
            self.bump();
            items.push(self.conjunction()?);
        }
        Ok(Node {
            col,
            kind: Kind::Or(items),
        })
    }

    fn conjunction(&mut self) -> Result<Node> {
        let first = self.inversion()?;
        if !self.is_kw("and") {
            return Ok(first);
        }
        let col = first.col;
        let mut items = vec![first];
        while self.is_kw("and") {
            self.bump();
            items.push(self.inversion()?);
        }
        Ok(Node {
            col,
            kind: Kind::And(items),
        })
    }

    fn inversion(&mut self) -> Result<Node> {
        if self.is_kw("not") {
            let col = self.bump().col;
            let operand = self.nested(Self::inversion)?;
            return Ok(Node {
                col,
                kind: Kind::Not(Box::new(operand)),
            });
        }
        self.comparison()
    }

    fn cmp_op(&mut self) -> Option<(CmpOp, usize)> {
        let t = self.peek();
        let op = match &t.tok {
            Tok::Op("==") => CmpOp::Eq,
            Tok::Op("!=") => CmpOp::Ne,
            Tok::Op("<") => CmpOp::Lt,
            Tok::Op("<=") => CmpOp::Le,
            Tok::Op(">") => CmpOp::Gt,
            Tok::Op(">=") => CmpOp::Ge,
            Tok::Name(n) if n == "in" => CmpOp::In,
            Tok::Name(n) if n == "not" && matches!(self.peek_at(1), Tok::Name(m) if m == "in") => {
                self.bump();
                CmpOp::NotIn
            }
            Tok::Name(n) if n == "is" => {
                if matches!(self.peek_at(1), Tok::Name(m) if m == "not") {
                    self.bump();
                    CmpOp::IsNot
                } else {
                    CmpOp::Is
                }
            }
            _ => return None,
        };
        self.bump();
        Some((op, t.col))
    }

    fn comparison(&mut self) -> Result<Node> {
        let first = self.sum()?;
        let mut rest = Vec::new();
        while let Some((op, col)) = self.cmp_op() {
            rest.push((op, col, self.sum()?));
        }
        if rest.is_empty() {
            return Ok(first);
        }
        Ok(Node {
            col: first.col,
            kind: Kind::Cmp(Box::new(first), rest),
        })
    }

    fn binary(
        &mut self,
        ops: &[(&str, BinOp)],
        next: fn(&mut Self) -> Result<Node>,
    ) -> Result<Node> {
        let first = next(self)?;
        let mut rest = Vec::new();
        while let Some((_, op)) = ops.iter().find(|(s, _)| self.is_op(s)) {
            let col = self.bump().col;
            rest.push((*op, col, next(self)?));
        }
        if rest.is_empty() {
            return Ok(first);
        }
        Ok(Node {
            col: first.col,
            kind: Kind::Arith(Box::new(first), rest),
        })
    }

    fn sum(&mut self) -> Result<Node> {
        self.binary(&[("+", BinOp::Add), ("-", BinOp::Sub)], Self::term)
    }

    fn term(&mut self) -> Result<Node> {
        self.binary(
            &[
                ("*", BinOp::Mul),
                ("/", BinOp::Div),
                ("//", BinOp::FloorDiv),
                ("%", BinOp::Mod),
            ],
            Self::factor,
        )
    }

    fn factor(&mut self) -> Result<Node> {
        if self.is_op("-") || self.is_op("+") {
            let t = self.bump();
            let operand = self.nested(Self::factor)?;
            let kind = if t.tok == Tok::Op("-") {
                Kind::Neg(Box::new(operand))
            } else {
                Kind::Pos(Box::new(operand))
            };
            return Ok(Node { col: t.col, kind });
        }
        self.power()
    }

    fn power(&mut self) -> Result<Node> {
        let base = self.primary()?;
        if !self.is_op("**") {
            return Ok(base);
        }
        let col = self.bump().col;
        // Right-associative, and the exponent may carry a unary sign: `2 ** -1`.
        let exp = self.nested(Self::factor)?;
        Ok(Node {
            col,
            kind: Kind::Pow(Box::new(base), Box::new(exp)),
        })
    }

    fn call_args(&mut self) -> Result<Vec<Node>> {
        let mut args = Vec::new();
        while !self.is_op(")") {
            if matches!(self.peek_at(0), Tok::Name(_)) && matches!(self.peek_at(1), Tok::Op("=")) {
                return err(self.peek().col, "keyword arguments are not supported");
            }
            if self.is_op("*") || self.is_op("**") {
                return err(self.peek().col, "argument unpacking is not supported");
            }
            args.push(self.expr()?);
            if !self.eat_op(",") {
                break;
            }
        }
        self.expect_op(")", "to close the argument list")?;
        Ok(args)
    }

    fn primary(&mut self) -> Result<Node> {
        let mut node = self.atom()?;
        loop {
            if self.is_op("(") {
                let t = self.bump();
                let Kind::Name(name) = &node.kind else {
                    return err(t.col, "only named functions and methods can be called");
                };
                let name = name.clone();
                let args = self.call_args()?;
                node = Node {
                    col: node.col,
                    kind: Kind::Call(name, args),
                };
            } else if self.is_op("[") {
                let t = self.bump();
                node = self.subscript(node, t.col)?;
            } else if self.is_op(".") {
                let dot = self.bump();
                let name_tok = self.bump();
                let Tok::Name(attr) = name_tok.tok else {
                    return err(dot.col, "expected an attribute name after `.`");
                };
                if !self.is_op("(") {
                    return err(
                        name_tok.col,
                        format!("attribute `{attr}` is not supported (only method calls are)"),
                    );
                }
                self.bump();
                let args = self.call_args()?;
                node = Node {
                    col: name_tok.col,
                    kind: Kind::Method(Box::new(node), attr, args),
                };
            } else {
                return Ok(node);
            }
        }
    }

    fn subscript(&mut self, target: Node, col: usize) -> Result<Node> {
        let mut parts: [Option<Box<Node>>; 3] = [None, None, None];
        let mut n = 0;
        let mut slice = false;
        loop {
            if !self.is_op(":") && !self.is_op("]") {
                parts[n] = Some(Box::new(self.expr()?));
            }
            if self.is_op(":") {
                let t = self.bump();
                slice = true;
                n += 1;
                if n > 2 {
                    return err(t.col, "too many `:` in slice");
                }
                continue;
            }
            break;
        }
        self.expect_op("]", "to close the subscript")?;
        let target = Box::new(target);
        if slice {
            return Ok(Node {
                col,
                kind: Kind::Slice(target, parts),
            });
        }
        match parts[0].take() {
            Some(index) => Ok(Node {
                col,
                kind: Kind::Index(target, index),
            }),
            None => err(col, "empty subscript"),
        }
    }

    fn atom(&mut self) -> Result<Node> {
        let t = self.bump();
        let col = t.col;
        let lit = |v| {
            Ok(Node {
                col,
                kind: Kind::Lit(v),
            })
        };
        match t.tok {
            Tok::Int(i) => lit(Value::Int(i)),
            Tok::Float(f) => lit(Value::Float(f)),
            Tok::Str(mut s) => {
                // Adjacent literals concatenate: 'a' "b" == 'ab'.
                while let Tok::Str(next) = self.peek_at(0) {
                    s.push_str(next);
                    self.bump();
                }
                lit(Value::Str(s))
            }
            Tok::Name(n) => match n.as_str() {
                "True" => lit(Value::Bool(true)),
                "False" => lit(Value::Bool(false)),
                "None" => lit(Value::None),
                "math" if self.is_op(".") => {
                    self.bump();
                    match self.bump().tok {
                        Tok::Name(attr) => Ok(Node {
                            col,
                            kind: Kind::Name(format!("math.{attr}")),
                        }),
                        _ => err(col, "expected a name after `math.`"),
                    }
                }
                kw if KEYWORDS.contains(&kw) => err(col, format!("unexpected keyword `{kw}`")),
                _ => Ok(Node {
                    col,
                    kind: Kind::Name(n),
                }),
            },
            Tok::Op("(") => {
                if self.eat_op(")") {
                    return Ok(Node {
                        col,
                        kind: Kind::Tuple(Vec::new()),
                    });
                }
                let mut inner = self.expr_list()?;
                self.expect_op(")", "to close `(`")?;
                if matches!(inner.kind, Kind::Tuple(_)) {
                    inner.col = col;
                }
                Ok(inner)
            }
            Tok::Op("[") => {
                let mut items = Vec::new();
                while !self.is_op("]") {
                    items.push(self.expr()?);
                    if !self.eat_op(",") {
                        break;
                    }
                }
                self.expect_op("]", "to close `[`")?;
                Ok(Node {
                    col,
                    kind: Kind::List(items),
                })
            }
            other => err(col, format!("unexpected {}", describe(&other))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

fn eval(node: &Node) -> Result<Value> {
    let col = node.col;
    match &node.kind {
        Kind::Lit(v) => Ok(v.clone()),
        Kind::Name(n) => lookup(n, col),
        Kind::Neg(x) => match eval(x)?.num() {
            Some(Num::I(i)) => i.checked_neg().map(Value::Int).ok_or_else(|| overflow(col)),
            Some(Num::F(f)) => Ok(Value::Float(-f)),
            None => unary_type_error("-", &eval(x)?, col),
        },
        Kind::Pos(x) => {
            let v = eval(x)?;
            match v.num() {
                Some(Num::I(i)) => Ok(Value::Int(i)),
                Some(Num::F(f)) => Ok(Value::Float(f)),
                None => unary_type_error("+", &v, col),
            }
        }
        Kind::Not(x) => Ok(Value::Bool(!eval(x)?.truthy())),
        Kind::And(items) | Kind::Or(items) => {
            // Python returns the first operand that decides, else the last.
            let stop_when = matches!(node.kind, Kind::Or(_));
            let mut last = Value::None;
            for item in items {
                last = eval(item)?;
                if last.truthy() == stop_when {
                    break;
                }
            }
            Ok(last)
        }
        Kind::IfElse(body, cond, orelse) => {
            if eval(cond)?.truthy() {
                eval(body)
            } else {
                eval(orelse)
            }
        }
        Kind::Pow(a, b) => binary(BinOp::Pow, &eval(a)?, &eval(b)?, col),
        Kind::Arith(first, rest) => {
            let mut acc = eval(first)?;
            for (op, op_col, right) in rest {
                acc = binary(*op, &acc, &eval(right)?, *op_col)?;
            }
            Ok(acc)
        }
        Kind::Cmp(first, rest) => {
            let mut left = eval(first)?;
            for (op, op_col, right) in rest {
                let right = eval(right)?;
                if !compare(*op, &left, &right, *op_col)? {
                    return Ok(Value::Bool(false));
                }
                left = right;
            }
            Ok(Value::Bool(true))
        }
        Kind::Call(name, args) => {
            let args = args.iter().map(eval).collect::<Result<Vec<_>>>()?;
            call(name, &args, col)
        }
        Kind::Method(recv, name, args) => {
            let recv = eval(recv)?;
            let args = args.iter().map(eval).collect::<Result<Vec<_>>>()?;
            method(&recv, name, &args, col)
        }
        Kind::Index(target, index) => {
            let target = eval(target)?;
            let index = eval(index)?;
            subscript(&target, &index, col)
        }
        Kind::Slice(target, parts) => {
            let target = eval(target)?;
            let mut bounds = [None, None, None];
            for (bound, part) in bounds.iter_mut().zip(parts) {
                if let Some(part) = part {
                    let v = eval(part)?;
                    *bound = match v {
                        Value::None => None,
                        v => Some(v.int().ok_or_else(|| EvalError {
                            column: part.col,
                            message: "slice indices must be integers or None".into(),
                        })?),
                    };
                }
            }
            slice(&target, bounds, col)
        }
        Kind::List(items) => Ok(Value::List(
            items.iter().map(eval).collect::<Result<Vec<_>>>()?,
        )),
        Kind::Tuple(items) => Ok(Value::Tuple(
            items.iter().map(eval).collect::<Result<Vec<_>>>()?,
        )),
    }
}

fn overflow(col: usize) -> EvalError {
    EvalError {
        column: col,
        message: OVERFLOW.into(),
    }
}

fn unary_type_error<T>(op: &str, v: &Value, col: usize) -> Result<T> {
    err(
        col,
        format!("bad operand type for unary {op}: '{}'", v.type_name()),
    )
}

const MATH_CONSTANTS: &[(&str, f64)] = &[
    ("pi", std::f64::consts::PI),
    ("e", std::f64::consts::E),
    ("tau", std::f64::consts::TAU),
    ("inf", f64::INFINITY),
    ("nan", f64::NAN),
];

const BUILTINS: &[&str] = &[
    "int", "float", "str", "bool", "abs", "min", "max", "round", "len",
];

const MATH_FUNCTIONS: &[&str] = &[
    "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "exp",
    "log", "log10", "log2", "pow", "hypot", "fabs", "floor", "ceil", "trunc", "radians", "degrees",
    "isclose", "isnan", "isinf", "copysign",
];

fn lookup(name: &str, col: usize) -> Result<Value> {
    let (qualified, bare) = match name.strip_prefix("math.") {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    if let Some((_, v)) = MATH_CONSTANTS.iter().find(|(n, _)| *n == bare) {
        return Ok(Value::Float(*v));
    }
    if MATH_FUNCTIONS.contains(&bare) || (!qualified && BUILTINS.contains(&bare)) {
        return err(col, format!("function `{name}` must be called"));
    }
    if qualified {
        return err(col, format!("unknown name `{name}` in module math"));
    }
    let hint = match name {
        "true" | "false" => format!(
            " (Python spells it `{}`; to test a launch value, compare strings: \
             '$(var x)' == 'true')",
            if name == "true" { "True" } else { "False" }
        ),
        "null" | "none" => " (Python spells it `None`)".to_string(),
        _ => String::new(),
    };
    err(col, format!("unknown name `{name}`{hint}"))
}

fn str_concat_error(op: BinOp, a: &Value, b: &Value, col: usize) -> EvalError {
    let message = match (op, a) {
        (BinOp::Add, Value::Str(_)) => format!(
            "can only concatenate str (not \"{}\") to str",
            b.type_name()
        ),
        _ => format!(
            "unsupported operand type(s) for {}: '{}' and '{}'",
            op.symbol(),
            a.type_name(),
            b.type_name()
        ),
    };
    EvalError {
        column: col,
        message,
    }
}

/// Checks that repeating something of `unit_len` bytes or items `n` times stays reasonable.
fn repeat(unit_len: usize, n: i64, col: usize) -> Result<()> {
    let n = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
    match unit_len.checked_mul(n) {
        Some(total) if total <= MAX_STR_LEN => Ok(()),
        _ => err(col, "repetition result too large"),
    }
}

fn binary(op: BinOp, a: &Value, b: &Value, col: usize) -> Result<Value> {
    if let (Some(x), Some(y)) = (a.num(), b.num()) {
        return arith(op, x, y, col);
    }
    match (op, a, b) {
        (BinOp::Add, Value::Str(x), Value::Str(y)) => Ok(Value::Str(format!("{x}{y}"))),
        (BinOp::Add, Value::List(x), Value::List(y)) => {
            Ok(Value::List(x.iter().chain(y).cloned().collect()))
        }
        (BinOp::Add, Value::Tuple(x), Value::Tuple(y)) => {
            Ok(Value::Tuple(x.iter().chain(y).cloned().collect()))
        }
        (BinOp::Mul, Value::Str(s), n) | (BinOp::Mul, n, Value::Str(s)) if n.int().is_some() => {
            let n = n.int().unwrap_or(0);
            repeat(s.len(), n, col)?;
            Ok(Value::Str(s.repeat(usize::try_from(n).unwrap_or(0))))
        }
        (BinOp::Mul, Value::List(v) | Value::Tuple(v), n)
        | (BinOp::Mul, n, Value::List(v) | Value::Tuple(v))
            if n.int().is_some() =>
        {
            let n = n.int().unwrap_or(0);
            repeat(v.len(), n, col)?;
            let n = if v.is_empty() {
                0
            } else {
                usize::try_from(n).unwrap_or(0)
            };
            let items: Vec<Value> = (0..n).flat_map(|_| v.iter().cloned()).collect();
            Ok(
                if matches!(a, Value::List(_)) || matches!(b, Value::List(_)) {
                    Value::List(items)
                } else {
                    Value::Tuple(items)
                },
            )
        }
        (BinOp::Mul, Value::Str(_) | Value::List(_) | Value::Tuple(_), other)
        | (BinOp::Mul, other, Value::Str(_) | Value::List(_) | Value::Tuple(_)) => err(
            col,
            format!(
                "can't multiply sequence by non-int of type '{}'",
                other.type_name()
            ),
        ),
        (BinOp::Mod, Value::Str(_), _) => err(col, "`%` string formatting is not supported"),
        _ => Err(str_concat_error(op, a, b, col)),
    }
}

fn arith(op: BinOp, x: Num, y: Num, col: usize) -> Result<Value> {
    use Num::I;
    let int = |r: Option<i64>| r.map(Value::Int).ok_or_else(|| overflow(col));
    match (op, x, y) {
        (BinOp::Add, I(a), I(b)) => int(a.checked_add(b)),
        (BinOp::Sub, I(a), I(b)) => int(a.checked_sub(b)),
        (BinOp::Mul, I(a), I(b)) => int(a.checked_mul(b)),
        (BinOp::Add, a, b) => Ok(Value::Float(a.f64() + b.f64())),
        (BinOp::Sub, a, b) => Ok(Value::Float(a.f64() - b.f64())),
        (BinOp::Mul, a, b) => Ok(Value::Float(a.f64() * b.f64())),
        (BinOp::Div, a, b) => {
            if b.f64() == 0.0 {
                return err(col, "division by zero");
            }
            Ok(Value::Float(a.f64() / b.f64()))
        }
        (BinOp::FloorDiv | BinOp::Mod, I(a), I(b)) => {
            if b == 0 {
                return err(col, "integer division or modulo by zero");
            }
            let (Some(q), Some(r)) = (a.checked_div(b), a.checked_rem(b)) else {
                return Err(overflow(col));
            };
            // Truncating → floor: adjust when the remainder's sign differs from the divisor's.
            let (q, r) = if r != 0 && ((r < 0) != (b < 0)) {
                (q - 1, r + b)
            } else {
                (q, r)
            };
            Ok(Value::Int(if op == BinOp::FloorDiv { q } else { r }))
        }
        (BinOp::FloorDiv | BinOp::Mod, a, b) => {
            let (a, b) = (a.f64(), b.f64());
            if b == 0.0 {
                return err(
                    col,
                    if op == BinOp::FloorDiv {
                        "float floor division by zero"
                    } else {
                        "float modulo by zero"
                    },
                );
            }
            let (div, modulo) = float_divmod(a, b);
            Ok(Value::Float(if op == BinOp::FloorDiv {
                div
            } else {
                modulo
            }))
        }
        (BinOp::Pow, I(a), I(b)) if b >= 0 => {
            let r = match u32::try_from(b) {
                Ok(e) => a.checked_pow(e),
                Err(_) => match a {
                    0 | 1 => Some(a),
                    -1 => Some(if b % 2 == 0 { 1 } else { -1 }),
                    _ => None,
                },
            };
            int(r)
        }
        (BinOp::Pow, a, b) => {
            let (a, b) = (a.f64(), b.f64());
            if a == 0.0 && b < 0.0 {
                return err(col, "0.0 cannot be raised to a negative power");
            }
            if a < 0.0 && b.is_finite() && b.fract() != 0.0 {
                return err(
                    col,
                    "negative number cannot be raised to a fractional power \
                     (Python would return a complex number)",
                );
            }
            let r = a.powf(b);
            if r.is_infinite() && a.is_finite() && b.is_finite() {
                return err(
                    col,
                    "float overflow in `**` (numerical result out of range)",
                );
            }
            Ok(Value::Float(r))
        }
    }
}

/// Python's float `divmod`: floor division and a modulo with the divisor's sign.
fn float_divmod(a: f64, b: f64) -> (f64, f64) {
    let mut modulo = a % b;
    let mut div = (a - modulo) / b;
    if modulo != 0.0 {
        if (b < 0.0) != (modulo < 0.0) {
            modulo += b;
            div -= 1.0;
        }
    } else {
        modulo = 0.0f64.copysign(b);
    }
    let floordiv = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0f64.copysign(a / b)
    };
    (floordiv, modulo)
}

/// Exact comparison of an int and a float (Python does not round the int to a float).
fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // 2^63 is exactly representable.
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if f >= TWO63 {
        return Some(Ordering::Less);
    }
    if f < -TWO63 {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    match i.cmp(&(t as i64)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - t)),
        other => Some(other),
    }
}

fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        (Num::F(x), Num::F(y)) => x.partial_cmp(&y),
        (Num::I(x), Num::F(y)) => cmp_int_float(x, y),
        (Num::F(x), Num::I(y)) => cmp_int_float(y, x).map(Ordering::reverse),
    }
}

fn values_eq(a: &Value, b: &Value) -> bool {
    if let (Some(x), Some(y)) = (a.num(), b.num()) {
        return num_cmp(x, y) == Some(Ordering::Equal);
    }
    match (a, b) {
        (Value::None, Value::None) => true,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_eq(a, b))
        }
        _ => false,
    }
}

/// `a < b` style ordering; `None` for unordered (NaN).
fn order(a: &Value, b: &Value, op: CmpOp, col: usize) -> Result<Option<Ordering>> {
    if let (Some(x), Some(y)) = (a.num(), b.num()) {
        return Ok(num_cmp(x, y));
    }
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(Some(x.cmp(y))),
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => {
            for (p, q) in x.iter().zip(y) {
                if !values_eq(p, q) {
                    return order(p, q, op, col);
                }
            }
            Ok(Some(x.len().cmp(&y.len())))
        }
        _ => err(
            col,
            format!(
                "'{}' not supported between instances of '{}' and '{}'",
                op.symbol(),
                a.type_name(),
                b.type_name()
            ),
        ),
    }
}

fn contains(hay: &Value, needle: &Value, col: usize) -> Result<bool> {
    match (hay, needle) {
        (Value::Str(h), Value::Str(n)) => Ok(h.contains(n.as_str())),
        (Value::Str(_), other) => err(
            col,
            format!(
                "'in <string>' requires string as left operand, not {}",
                other.type_name()
            ),
        ),
        (Value::List(v) | Value::Tuple(v), n) => Ok(v.iter().any(|x| values_eq(x, n))),
        (other, _) => err(
            col,
            format!("argument of type '{}' is not iterable", other.type_name()),
        ),
    }
}

fn compare(op: CmpOp, a: &Value, b: &Value, col: usize) -> Result<bool> {
    Ok(match op {
        CmpOp::Eq => values_eq(a, b),
        CmpOp::Ne => !values_eq(a, b),
        CmpOp::In => contains(b, a, col)?,
        CmpOp::NotIn => !contains(b, a, col)?,
        // Identity is approximated by same type and equal value.
        CmpOp::Is => a.type_name() == b.type_name() && values_eq(a, b),
        CmpOp::IsNot => !(a.type_name() == b.type_name() && values_eq(a, b)),
        CmpOp::Lt => order(a, b, op, col)? == Some(Ordering::Less),
        CmpOp::Le => matches!(
            order(a, b, op, col)?,
            Some(Ordering::Less | Ordering::Equal)
        ),
        CmpOp::Gt => order(a, b, op, col)? == Some(Ordering::Greater),
        CmpOp::Ge => matches!(
            order(a, b, op, col)?,
            Some(Ordering::Greater | Ordering::Equal)
        ),
    })
}

fn subscript(target: &Value, index: &Value, col: usize) -> Result<Value> {
    let Some(i) = index.int() else {
        return err(
            col,
            format!(
                "{} indices must be integers, not {}",
                target.type_name(),
                index.type_name()
            ),
        );
    };
    let items = match target {
        Value::Str(_) | Value::List(_) | Value::Tuple(_) => target.items(col)?,
        other => {
            return err(
                col,
                format!("'{}' object is not subscriptable", other.type_name()),
            );
        }
    };
    let n = items.len() as i64;
    let j = if i < 0 { i + n } else { i };
    if j < 0 || j >= n {
        return err(col, format!("{} index out of range", target.type_name()));
    }
    Ok(items[j as usize].clone())
}

fn slice(target: &Value, [start, stop, step]: [Option<i64>; 3], col: usize) -> Result<Value> {
    let items = match target {
        Value::Str(_) | Value::List(_) | Value::Tuple(_) => target.items(col)?,
        other => {
            return err(
                col,
                format!("'{}' object is not subscriptable", other.type_name()),
            );
        }
    };
    let n = items.len() as i64;
    let step = step.unwrap_or(1);
    if step == 0 {
        return err(col, "slice step cannot be zero");
    }
    let clamp = |v: Option<i64>, default: i64| match v {
        None => default,
        Some(v) if v < 0 => {
            let v = v.saturating_add(n);
            if v < 0 {
                if step < 0 { -1 } else { 0 }
            } else {
                v
            }
        }
        Some(v) if v >= n => {
            if step < 0 {
                n - 1
            } else {
                n
            }
        }
        Some(v) => v,
    };
    let start = clamp(start, if step < 0 { n - 1 } else { 0 });
    let stop = clamp(stop, if step < 0 { -1 } else { n });
    let mut picked = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        picked.push(items[i as usize].clone());
        i = match i.checked_add(step) {
            Some(i) => i,
            None => break,
        };
    }
    Ok(match target {
        Value::Str(_) => Value::Str(picked.iter().map(Value::to_str).collect()),
        Value::List(_) => Value::List(picked),
        _ => Value::Tuple(picked),
    })
}

fn arity(name: &str, args: &[Value], min: usize, max: usize, col: usize) -> Result<()> {
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return err(
            col,
            format!(
                "{name}() takes {expected} argument{}, got {}",
                if max == 1 || (min == 1 && max == usize::MAX) {
                    ""
                } else {
                    "s"
                },
                args.len()
            ),
        );
    }
    Ok(())
}

fn float_to_int(f: f64, col: usize) -> Result<i64> {
    if f.is_nan() {
        return err(col, "cannot convert float NaN to integer");
    }
    if f.is_infinite() {
        return err(col, "cannot convert float infinity to integer");
    }
    let t = f.trunc();
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&t) {
        return Err(overflow(col));
    }
    Ok(t as i64)
}

/// Python's `int(str)`: surrounding whitespace, a sign, digits with single `_` between them.
fn parse_int_str(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return None;
    }
    if !underscores_ok(digits) {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let text = if neg { format!("-{clean}") } else { clean };
    text.parse().ok()
}

/// Python's `float(str)`.
fn parse_float_str(s: &str) -> Option<f64> {
    let t = s.trim();
    let body = t.trim_start_matches(['+', '-']);
    if t.len() - body.len() > 1 {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return t.to_ascii_lowercase().parse().ok();
    }
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'))
        || !underscores_ok(body)
    {
        return None;
    }
    let clean: String = t.chars().filter(|c| *c != '_').collect();
    clean.parse().ok()
}

fn round_int(x: i64, ndigits: i64, col: usize) -> Result<Value> {
    if ndigits >= 0 {
        return Ok(Value::Int(x));
    }
    let Some(p) = u32::try_from(-ndigits)
        .ok()
        .and_then(|e| 10i64.checked_pow(e))
    else {
        return Ok(Value::Int(0));
    };
    let r = x.rem_euclid(p);
    let base = x - r;
    let up = r * 2 > p || (r * 2 == p && (base / p) % 2 != 0);
    let v = if up { base.checked_add(p) } else { Some(base) };
    v.map(Value::Int).ok_or_else(|| overflow(col))
}

fn round_float(x: f64, ndigits: i64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    if ndigits > 330 {
        return x;
    }
    if ndigits >= 0 {
        // `{:.N}` rounds the exact binary value half-to-even, as Python's round() does.
        let s = format!("{:.*}", ndigits as usize, x);
        return s.parse().unwrap_or(x);
    }
    if ndigits < -330 {
        return 0.0f64.copysign(x);
    }
    let p = 10f64.powi((-ndigits) as i32);
    let r = (x / p).round_ties_even() * p;
    if r == 0.0 { 0.0f64.copysign(x) } else { r }
}

fn real(v: &Value, func: &str, col: usize) -> Result<f64> {
    match v.num() {
        Some(n) => Ok(n.f64()),
        None => err(
            col,
            format!("{func}() must be a real number, not {}", v.type_name()),
        ),
    }
}

fn call(name: &str, args: &[Value], col: usize) -> Result<Value> {
    if let Some(bare) = name.strip_prefix("math.") {
        if MATH_FUNCTIONS.contains(&bare) {
            return call_math(bare, args, col);
        }
        if MATH_CONSTANTS.iter().any(|(n, _)| *n == bare) {
            return err(col, "'float' object is not callable");
        }
        return err(col, format!("unknown function `{name}`"));
    }
    match name {
        "int" => {
            arity(name, args, 0, 1, col)?;
            match args.first() {
                None => Ok(Value::Int(0)),
                Some(Value::Float(f)) => Ok(Value::Int(float_to_int(*f, col)?)),
                Some(v @ (Value::Int(_) | Value::Bool(_))) => Ok(Value::Int(v.int().unwrap_or(0))),
                Some(Value::Str(s)) => parse_int_str(s).map(Value::Int).ok_or_else(|| {
                    let message =
                        if s.trim().chars().all(|c| c.is_ascii_digit()) && !s.trim().is_empty() {
                            OVERFLOW.to_string()
                        } else {
                            format!("invalid literal for int() with base 10: {}", str_repr(s))
                        };
                    EvalError {
                        column: col,
                        message,
                    }
                }),
                Some(other) => err(
                    col,
                    format!(
                        "int() argument must be a string or a real number, not '{}'",
                        other.type_name()
                    ),
                ),
            }
        }
        "float" => {
            arity(name, args, 0, 1, col)?;
            match args.first() {
                None => Ok(Value::Float(0.0)),
                Some(Value::Str(s)) => {
                    parse_float_str(s)
                        .map(Value::Float)
                        .ok_or_else(|| EvalError {
                            column: col,
                            message: format!("could not convert string to float: {}", str_repr(s)),
                        })
                }
                Some(v) => match v.num() {
                    Some(n) => Ok(Value::Float(n.f64())),
                    None => err(
                        col,
                        format!(
                            "float() argument must be a string or a real number, not '{}'",
                            v.type_name()
                        ),
                    ),
                },
            }
        }
        "str" => {
            arity(name, args, 0, 1, col)?;
            Ok(Value::Str(
                args.first().map(Value::to_str).unwrap_or_default(),
            ))
        }
        "bool" => {
            arity(name, args, 0, 1, col)?;
            Ok(Value::Bool(args.first().is_some_and(Value::truthy)))
        }
        "abs" => {
            arity(name, args, 1, 1, col)?;
            match args[0].num() {
                Some(Num::I(i)) => i.checked_abs().map(Value::Int).ok_or_else(|| overflow(col)),
                Some(Num::F(f)) => Ok(Value::Float(f.abs())),
                None => err(
                    col,
                    format!("bad operand type for abs(): '{}'", args[0].type_name()),
                ),
            }
        }
        "len" => {
            arity(name, args, 1, 1, col)?;
            match &args[0] {
                Value::Str(s) => Ok(Value::Int(s.chars().count() as i64)),
                Value::List(v) | Value::Tuple(v) => Ok(Value::Int(v.len() as i64)),
                other => err(
                    col,
                    format!("object of type '{}' has no len()", other.type_name()),
                ),
            }
        }
        "min" | "max" => {
            arity(name, args, 1, usize::MAX, col)?;
            let items = if args.len() == 1 {
                args[0].items(col)?
            } else {
                args.to_vec()
            };
            let mut it = items.into_iter();
            let Some(mut best) = it.next() else {
                return err(col, format!("{name}() arg is an empty sequence"));
            };
            let want = if name == "min" {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            let op = if name == "min" { CmpOp::Lt } else { CmpOp::Gt };
            for item in it {
                if order(&item, &best, op, col)? == Some(want) {
                    best = item;
                }
            }
            Ok(best)
        }
        "round" => {
            arity(name, args, 1, 2, col)?;
            let ndigits = match args.get(1) {
                None | Some(Value::None) => None,
                Some(v) => Some(v.int().ok_or_else(|| EvalError {
                    column: col,
                    message: format!(
                        "'{}' object cannot be interpreted as an integer",
                        v.type_name()
                    ),
                })?),
            };
            match (args[0].num(), ndigits) {
                (Some(Num::I(i)), None) => Ok(Value::Int(i)),
                (Some(Num::I(i)), Some(n)) => round_int(i, n, col),
                (Some(Num::F(f)), None) => Ok(Value::Int(float_to_int(f.round_ties_even(), col)?)),
                (Some(Num::F(f)), Some(n)) => Ok(Value::Float(round_float(f, n))),
                (None, _) => err(
                    col,
                    format!(
                        "type {} doesn't define __round__ method",
                        args[0].type_name()
                    ),
                ),
            }
        }
        _ if MATH_FUNCTIONS.contains(&name) => call_math(name, args, col),
        _ => {
            if MATH_CONSTANTS.iter().any(|(n, _)| *n == name) {
                return err(col, "'float' object is not callable");
            }
            err(
                col,
                format!(
                    "unknown function `{name}` (supported: {}, and math functions such as {})",
                    BUILTINS.join(", "),
                    MATH_FUNCTIONS[..6].join(", ")
                ),
            )
        }
    }
}

fn call_math(name: &str, args: &[Value], col: usize) -> Result<Value> {
    let (min, max) = match name {
        "atan2" | "pow" | "copysign" => (2, 2),
        "log" => (1, 2),
        "hypot" => (0, usize::MAX),
        "isclose" => (2, 2),
        _ => (1, 1),
    };
    arity(name, args, min, max, col)?;
    let xs = args
        .iter()
        .map(|a| real(a, name, col))
        .collect::<Result<Vec<f64>>>()?;
    let domain = || err(col, "math domain error");
    let x = xs.first().copied().unwrap_or(0.0);
    let f = match name {
        "floor" | "ceil" | "trunc" => {
            if let Some(i) = args[0].int() {
                return Ok(Value::Int(i));
            }
            let r = match name {
                "floor" => x.floor(),
                "ceil" => x.ceil(),
                _ => x.trunc(),
            };
            return Ok(Value::Int(float_to_int(r, col)?));
        }
        "isnan" => return Ok(Value::Bool(x.is_nan())),
        "isinf" => return Ok(Value::Bool(x.is_infinite())),
        "isclose" => {
            let (a, b) = (xs[0], xs[1]);
            let close =
                a == b || ((a - b).abs() <= 1e-9 * a.abs().max(b.abs()) && !(a - b).is_nan());
            return Ok(Value::Bool(close));
        }
        "sqrt" if x < 0.0 => return domain(),
        "log" | "log10" | "log2" if x <= 0.0 => return domain(),
        "asin" | "acos" if !(-1.0..=1.0).contains(&x) => return domain(),
        "sqrt" => x.sqrt(),
        "sin" => x.sin(),
        "cos" => x.cos(),
        "tan" => x.tan(),
        "asin" => x.asin(),
        "acos" => x.acos(),
        "atan" => x.atan(),
        "atan2" => x.atan2(xs[1]),
        "sinh" => x.sinh(),
        "cosh" => x.cosh(),
        "tanh" => x.tanh(),
        "exp" => x.exp(),
        "log" => match xs.get(1) {
            None => x.ln(),
            Some(&b) if b <= 0.0 || b == 1.0 => return domain(),
            Some(&b) => x.ln() / b.ln(),
        },
        "log10" => x.log10(),
        "log2" => x.log2(),
        "pow" => x.powf(xs[1]),
        "hypot" => xs.iter().fold(0.0f64, |acc, v| acc.hypot(*v)),
        "fabs" => x.abs(),
        "radians" => x.to_radians(),
        "degrees" => x.to_degrees(),
        "copysign" => x.copysign(xs[1]),
        _ => return err(col, format!("unknown function `{name}`")),
    };
    Ok(Value::Float(f))
}

fn str_arg<'a>(args: &'a [Value], i: usize, method: &str, col: usize) -> Result<&'a str> {
    match &args[i] {
        Value::Str(s) => Ok(s),
        other => err(
            col,
            format!("{method}() argument must be str, not {}", other.type_name()),
        ),
    }
}

const STR_METHODS: &[&str] = &[
    "lower",
    "upper",
    "strip",
    "lstrip",
    "rstrip",
    "startswith",
    "endswith",
    "replace",
    "find",
    "count",
    "isdigit",
    "isalpha",
    "isalnum",
    "isspace",
    "capitalize",
    "title",
];

fn method(recv: &Value, name: &str, args: &[Value], col: usize) -> Result<Value> {
    let Value::Str(s) = recv else {
        return err(
            col,
            format!("'{}' object has no attribute '{name}'", recv.type_name()),
        );
    };
    let s = s.as_str();
    let string = |v: String| Ok(Value::Str(v));
    let boolean = |b: bool| Ok(Value::Bool(b));
    match name {
        "lower" | "upper" | "isdigit" | "isalpha" | "isalnum" | "isspace" | "capitalize"
        | "title" => arity(name, args, 0, 0, col)?,
        "strip" | "lstrip" | "rstrip" => arity(name, args, 0, 1, col)?,
        "startswith" | "endswith" | "find" | "count" => arity(name, args, 1, 1, col)?,
        "replace" => arity(name, args, 2, 2, col)?,
        _ => {
            return err(
                col,
                format!(
                    "'str' object has no attribute '{name}' (supported methods: {})",
                    STR_METHODS.join(", ")
                ),
            );
        }
    }
    let nonempty_all = |f: fn(char) -> bool| !s.is_empty() && s.chars().all(f);
    match name {
        "lower" => string(s.to_lowercase()),
        "upper" => string(s.to_uppercase()),
        "strip" | "lstrip" | "rstrip" => {
            let chars: Option<Vec<char>> = match args.first() {
                None | Some(Value::None) => None,
                Some(_) => Some(str_arg(args, 0, name, col)?.chars().collect()),
            };
            let pred = |c: char| match &chars {
                None => c.is_whitespace(),
                Some(set) => set.contains(&c),
            };
            string(
                match name {
                    "strip" => s.trim_matches(pred),
                    "lstrip" => s.trim_start_matches(pred),
                    _ => s.trim_end_matches(pred),
                }
                .to_string(),
            )
        }
        "startswith" => boolean(s.starts_with(str_arg(args, 0, name, col)?)),
        "endswith" => boolean(s.ends_with(str_arg(args, 0, name, col)?)),
        "find" => {
            let needle = str_arg(args, 0, name, col)?;
            Ok(Value::Int(match s.find(needle) {
                Some(byte) => s[..byte].chars().count() as i64,
                None => -1,
            }))
        }
        "count" => {
            let needle = str_arg(args, 0, name, col)?;
            Ok(Value::Int(if needle.is_empty() {
                s.chars().count() as i64 + 1
            } else {
                s.matches(needle).count() as i64
            }))
        }
        "replace" => {
            let from = str_arg(args, 0, name, col)?;
            let to = str_arg(args, 1, name, col)?;
            let out = if from.is_empty() {
                // Python inserts `to` around every char.
                let mut out = to.to_string();
                for c in s.chars() {
                    out.push(c);
                    out.push_str(to);
                }
                out
            } else {
                s.replace(from, to)
            };
            if out.len() > MAX_STR_LEN {
                return err(col, "replace() result too large");
            }
            string(out)
        }
        "isdigit" => boolean(nonempty_all(|c| c.is_ascii_digit())),
        "isalpha" => boolean(nonempty_all(char::is_alphabetic)),
        "isalnum" => boolean(nonempty_all(char::is_alphanumeric)),
        "isspace" => boolean(nonempty_all(char::is_whitespace)),
        "capitalize" => {
            let mut chars = s.chars();
            string(match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            })
        }
        _ => {
            // title
            let mut out = String::with_capacity(s.len());
            let mut prev_cased = false;
            for c in s.chars() {
                if c.is_alphabetic() {
                    if prev_cased {
                        out.extend(c.to_lowercase());
                    } else {
                        out.extend(c.to_uppercase());
                    }
                    prev_cased = true;
                } else {
                    out.push(c);
                    prev_cased = false;
                }
            }
            string(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(expr: &str) -> String {
        evaluate(expr).unwrap_or_else(|e| panic!("`{expr}` failed: {e:?}"))
    }

    fn fails(expr: &str) -> (usize, String) {
        match evaluate(expr) {
            Ok(v) => panic!("`{expr}` gave {v:?}, expected an error"),
            Err(e) => (e.column, e.message),
        }
    }

    /// Expected values are CPython 3 `str(eval(expr))` output, with `math` names in scope as
    /// ROS's PythonExpression provides them.
    #[test]
    fn matches_python() {
        let cases: &[(&str, &str)] = &[
            (r"1 + 2", r"3"),
            (r"2.0 / 4", r"0.5"),
            (r"7 // 2", r"3"),
            (r#"3 > 2 and "a" == "a""#, r"True"),
            (r"'x' + 'y'", r"xy"),
            (r"1/3", r"0.3333333333333333"),
            (r"1e20", r"1e+20"),
            (r"1e16", r"1e+16"),
            (r"1e15", r"1000000000000000.0"),
            (r"123456789.0 * 10", r"1234567890.0"),
            (r"0.0001", r"0.0001"),
            (r"0.00001", r"1e-05"),
            (r"1.5e-7", r"1.5e-07"),
            (r"-0.0", r"-0.0"),
            (r"2.0", r"2.0"),
            (r"2 * 3.0", r"6.0"),
            (r"10 / 5", r"2.0"),
            (r"-7 // 2", r"-4"),
            (r"7 // -2", r"-4"),
            (r"-7 % 3", r"2"),
            (r"7 % -3", r"-2"),
            (r"-7.5 // 2", r"-4.0"),
            (r"-7.5 % 2", r"0.5"),
            (r"7.5 % -2", r"-0.5"),
            (r"5 % 0.0 if False else 1", r"1"),
            (r"2 ** 10", r"1024"),
            (r"2 ** -1", r"0.5"),
            (r"(-2) ** 2", r"4"),
            (r"-2 ** 2", r"-4"),
            (r"2 ** 3 ** 2", r"512"),
            (r"2.5 ** 2", r"6.25"),
            (r"-5 // 1.5", r"-4.0"),
            (r"1 < 2 < 3", r"True"),
            (r"1 < 3 < 2", r"False"),
            (r"3 > 2 > 1 == 1", r"True"),
            (r"1 == 1.0", r"True"),
            (r"True + True", r"2"),
            (r"True == 1", r"True"),
            (r"0 or 'default'", r"default"),
            (r"'' or 'x'", r"x"),
            (r"'a' and 'b'", r"b"),
            (r"0 and 1/0", r"0"),
            (r"1 or 1/0", r"1"),
            (r"not 0", r"True"),
            (r"not 'x'", r"False"),
            (r"'yes' if 1 > 2 else 'no'", r"no"),
            (r"'a' if False else 'b' if False else 'c'", r"c"),
            (r"'ab' in 'cabd'", r"True"),
            (r"'z' not in 'abc'", r"True"),
            (r"int('42')", r"42"),
            (r"int(' -17 ')", r"-17"),
            (r"int(3.99)", r"3"),
            (r"int(-3.99)", r"-3"),
            (r"int(True)", r"1"),
            (r"float('1.5')", r"1.5"),
            (r"float('  -2 ')", r"-2.0"),
            (r"float(3)", r"3.0"),
            (r"float('inf')", r"inf"),
            (r"float('-Infinity')", r"-inf"),
            (r"str(1.0)", r"1.0"),
            (r"str(True)", r"True"),
            (r"str(None)", r"None"),
            (r"bool('')", r"False"),
            (r"bool('false')", r"True"),
            (r"bool(0.0)", r"False"),
            (r"abs(-3)", r"3"),
            (r"abs(-2.5)", r"2.5"),
            (r"min(3, 1, 2)", r"1"),
            (r"max(3, 1.5, 2)", r"3"),
            (r"max('abc')", r"c"),
            (r"min('b', 'a')", r"a"),
            (r"max(1, 1.0)", r"1"),
            (r"round(2.5)", r"2"),
            (r"round(3.5)", r"4"),
            (r"round(-0.5)", r"0"),
            (r"round(2.675, 2)", r"2.67"),
            (r"round(0.125, 2)", r"0.12"),
            (r"round(1234.5678, -2)", r"1200.0"),
            (r"round(1235, -1)", r"1240"),
            (r"round(1245, -1)", r"1240"),
            (r"round(7)", r"7"),
            (r"round(1.5, 0)", r"2.0"),
            (r"len('héllo')", r"5"),
            (r"len('')", r"0"),
            (r"'ab' * 3", r"ababab"),
            (r"3 * 'ab'", r"ababab"),
            (r"'ab' * -1", r""),
            (r"'ab' * True", r"ab"),
            (r"None", r"None"),
            (r"True", r"True"),
            (r"[1, 'a', 2.5]", r"[1, 'a', 2.5]"),
            (r"(1,)", r"(1,)"),
            (r"(1, 2)", r"(1, 2)"),
            (r"()", r"()"),
            (r"1, 2", r"(1, 2)"),
            (r"'it\'s'", r"it's"),
            (r#""say \"hi\"""#, r#"say "hi""#),
            (r"'a\tb'", r"a	b"),
            (r"'\x41\u00e9'", r"Aé"),
            (r"r'a\nb'", r"a\nb"),
            (r"'a' 'b'", r"ab"),
            (r"'abc'[0]", r"a"),
            (r"'abc'[-1]", r"c"),
            (r"'abcdef'[1:3]", r"bc"),
            (r"'abcdef'[::-1]", r"fedcba"),
            (r"'abcdef'[::2]", r"ace"),
            (r"'abcdef'[-2:]", r"ef"),
            (r"'abcdef'[:100]", r"abcdef"),
            (r"'  Hi '.strip()", r"Hi"),
            (r"'ABC'.lower()", r"abc"),
            (r"'true'.upper()", r"TRUE"),
            (r"'foo.yaml'.endswith('.yaml')", r"True"),
            (r"'a-b-c'.replace('-', '_')", r"a_b_c"),
            (r"'hello'.find('l')", r"2"),
            (r"'hello'.count('l')", r"2"),
            (r"'42'.isdigit()", r"True"),
            (r"'hello world'.title()", r"Hello World"),
            (r"'hello'.capitalize()", r"Hello"),
            (r"'xxhixx'.strip('x')", r"hi"),
            (r"pi", r"3.141592653589793"),
            (r"math.pi / 2", r"1.5707963267948966"),
            (r"sqrt(2)", r"1.4142135623730951"),
            (r"math.sqrt(16)", r"4.0"),
            (r"math.floor(-2.5)", r"-3"),
            (r"ceil(2.1)", r"3"),
            (r"math.radians(180)", r"3.141592653589793"),
            (r"degrees(pi)", r"180.0"),
            (r"atan2(1, 1)", r"0.7853981633974483"),
            (r"log(100, 10)", r"2.0"),
            (r"math.log10(1000)", r"3.0"),
            (r"hypot(3, 4)", r"5.0"),
            (r"1_000 + 1", r"1001"),
            (r"0x1f + 0o17 + 0b11", r"49"),
            (r"1.5e3", r"1500.0"),
            (r".5", r"0.5"),
            (r"5.", r"5.0"),
            (r"0.1 + 0.2", r"0.30000000000000004"),
            (r"1e300 * 10", r"1e+301"),
            (r"-1e-300 / 1e10", r"-1e-310"),
            (r"100.0 * 1e14", r"1e+16"),
            (r"2 ** 62 + (2 ** 62 - 1)", r"9223372036854775807"),
            (r"9007199254740993 == 9007199254740992.0", r"False"),
            (r"[1, 2] == [1, 2.0]", r"True"),
            (r"'b' in ['a', 'b']", r"True"),
            (r"3 in (1, 2)", r"False"),
            (r"[1, 2] + [3]", r"[1, 2, 3]"),
            (r"len([1, 2, 3])", r"3"),
            (r"max([4, 9, 2])", r"9"),
            (r"str([None, True, 'x'])", r"[None, True, 'x']"),
            (r"(1, 2) < (1, 3)", r"True"),
            (r"'abc' < 'abd'", r"True"),
            (r"None is None", r"True"),
            (r"1 if None is not None else 2", r"2"),
            (r"float('nan') == float('nan')", r"False"),
            (r"round(-2.5)", r"-2"),
            (r"round(0.5)", r"0"),
            (r"int('1_000')", r"1000"),
            (r"float('1_0.5')", r"10.5"),
            (r"1 + 2 * 3 - 4 / 2", r"5.0"),
            (r"(1 + 2) * 3", r"9"),
            (r"10 - 2 - 3", r"5"),
            (r"2 * 3 % 4", r"2"),
            (r"-3 ** 2", r"-9"),
            (r"not 1 == 2", r"True"),
            (r"not 1 == 1 or True", r"True"),
            (r"1 < 2 == True", r"False"),
            (r"'a' < 'b' < 'c'", r"True"),
            (r"abs(True)", r"1"),
            (r"-True", r"-1"),
            (r"+True", r"1"),
            (r"7.0 // 2", r"3.0"),
            (r"7.0 % 2.5", r"2.0"),
            (r"-0.0 % 5", r"0.0"),
            (r"5 % -0.5", r"-0.0"),
        ];
        let mut wrong = Vec::new();
        for (expr, want) in cases {
            match evaluate(expr) {
                Ok(got) if got == *want => {}
                other => wrong.push(format!("{expr:?}: want {want:?}, got {other:?}")),
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn float_repr_like_python() {
        let cases: &[(f64, &str)] = &[
            (0.5, "0.5"),
            (2.0, "2.0"),
            (-2.0, "-2.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1e20, "1e+20"),
            (1.5e20, "1.5e+20"),
            (1e16, "1e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e-5, "1e-05"),
            (1.2345e-5, "1.2345e-05"),
            (0.0001, "0.0001"),
            (1e100, "1e+100"),
            (1e-100, "1e-100"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (123.456, "123.456"),
            (1.0 / 3.0, "0.3333333333333333"),
        ];
        for (f, want) in cases {
            assert_eq!(float_repr(*f), *want, "repr of {f:e}");
        }
    }

    #[test]
    fn str_repr_picks_quotes_like_python() {
        assert_eq!(str_repr("a"), "'a'");
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(str_repr("tab\there\n"), "'tab\\there\\n'");
        assert_eq!(str_repr("\u{1}"), "'\\x01'");
        assert_eq!(str_repr("back\\slash"), "'back\\\\slash'");
        assert_eq!(ok("str(['it\\'s', 'x'])"), "[\"it's\", 'x']");
    }

    #[test]
    fn launch_idioms() {
        // What launch files write after `$(var x)` has been substituted.
        assert_eq!(ok("'true' == 'true'"), "True");
        assert_eq!(ok("'false' == 'true'"), "False");
        assert_eq!(ok("'True'.lower() == 'true'"), "True");
        assert_eq!(ok("'robot1' + '/base_link'"), "robot1/base_link");
        assert_eq!(ok("0.5 * 2"), "1.0");
        assert_eq!(ok("'sim' in ['sim', 'real']"), "True");
        assert_eq!(ok("'a' if 'x' != '' else 'b'"), "a");
        assert_eq!(ok("int('3') + 1"), "4");
        assert_eq!(ok("  1 +\n 2  "), "3");
    }

    #[test]
    fn integer_edges() {
        assert_eq!(ok("9223372036854775807"), "9223372036854775807");
        assert_eq!(ok("-9223372036854775807 - 1"), "-9223372036854775808");
        assert_eq!(ok("2 ** 63 - 1 if False else 0"), "0");
        assert_eq!(ok("(-1) ** 10000000000"), "1");
        assert_eq!(ok("(-1) ** 10000000001"), "-1");
        assert_eq!(ok("10 ** -2"), "0.01");
        assert_eq!(ok("-9223372036854775807 // -1"), "9223372036854775807");
        assert_eq!(ok("round(1249, -2)"), "1200");
        assert_eq!(ok("round(1250, -2)"), "1200");
        assert_eq!(ok("round(1350, -2)"), "1400");
        assert_eq!(ok("round(-1250, -2)"), "-1200");
        assert_eq!(ok("round(5, -30)"), "0");
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(fails("9223372036854775807 + 1"), (20, OVERFLOW.into()));
        assert_eq!(fails("2 ** 63"), (2, OVERFLOW.into()));
        assert_eq!(fails("-(-9223372036854775807 - 1)"), (0, OVERFLOW.into()));
        assert_eq!(
            fails("(-9223372036854775807 - 1) // -1"),
            (27, OVERFLOW.into())
        );
        assert_eq!(fails("abs(-9223372036854775807 - 1)"), (0, OVERFLOW.into()));
        assert_eq!(fails("round(1e20)"), (0, OVERFLOW.into()));
        assert_eq!(
            fails("9223372036854775808"),
            (0, "integer literal too large (64-bit integers only)".into())
        );
        assert_eq!(fails("int('99999999999999999999')"), (0, OVERFLOW.into()));
    }

    #[test]
    fn runtime_errors_point_at_the_operator() {
        assert_eq!(fails("1 / 0"), (2, "division by zero".into()));
        assert_eq!(fails("1.5 / 0.0"), (4, "division by zero".into()));
        assert_eq!(
            fails("1 // 0"),
            (2, "integer division or modulo by zero".into())
        );
        assert_eq!(
            fails("1 % 0"),
            (2, "integer division or modulo by zero".into())
        );
        assert_eq!(
            fails("1.0 // 0"),
            (4, "float floor division by zero".into())
        );
        assert_eq!(fails("1.0 % 0"), (4, "float modulo by zero".into()));
        assert_eq!(
            fails("0 ** -1"),
            (2, "0.0 cannot be raised to a negative power".into())
        );
        assert_eq!(
            fails("10.0 ** 400"),
            (
                5,
                "float overflow in `**` (numerical result out of range)".into()
            )
        );
        assert!(
            fails("(-8) ** 0.5")
                .1
                .starts_with("negative number cannot be raised")
        );
        assert_eq!(
            fails("'a' + 1"),
            (4, "can only concatenate str (not \"int\") to str".into())
        );
        assert_eq!(
            fails("1 + 'a'"),
            (
                2,
                "unsupported operand type(s) for +: 'int' and 'str'".into()
            )
        );
        assert_eq!(
            fails("'a' - 'b'"),
            (
                4,
                "unsupported operand type(s) for -: 'str' and 'str'".into()
            )
        );
        assert_eq!(
            fails("'a' * 1.5"),
            (
                4,
                "can't multiply sequence by non-int of type 'float'".into()
            )
        );
        assert_eq!(
            fails("'a' * 100000000"),
            (4, "repetition result too large".into())
        );
        assert_eq!(
            fails("'%s' % 1"),
            (5, "`%` string formatting is not supported".into())
        );
        assert_eq!(
            fails("1 < 'a'"),
            (
                2,
                "'<' not supported between instances of 'int' and 'str'".into()
            )
        );
        assert_eq!(
            fails("None >= 1"),
            (
                5,
                "'>=' not supported between instances of 'NoneType' and 'int'".into()
            )
        );
        assert_eq!(
            fails("1 in 'abc'"),
            (
                2,
                "'in <string>' requires string as left operand, not int".into()
            )
        );
        assert_eq!(
            fails("'a' in 5"),
            (4, "argument of type 'int' is not iterable".into())
        );
        assert_eq!(
            fails("-'a'"),
            (0, "bad operand type for unary -: 'str'".into())
        );
        // The failing comparison in a chain is the one reported.
        assert_eq!(
            fails("1 < 2 < 'x'"),
            (
                6,
                "'<' not supported between instances of 'int' and 'str'".into()
            )
        );
    }

    #[test]
    fn short_circuit_skips_errors() {
        assert_eq!(ok("False and 1/0"), "False");
        assert_eq!(ok("True or 1/0"), "True");
        assert_eq!(ok("1 if True else 1/0"), "1");
        assert_eq!(ok("1 > 2 < 1/0"), "False");
        assert_eq!(fails("True and 1/0"), (10, "division by zero".into()));
    }

    #[test]
    fn names_and_calls() {
        assert_eq!(
            fails("true"),
            (
                0,
                "unknown name `true` (Python spells it `True`; to test a launch value, compare \
                 strings: '$(var x)' == 'true')"
                    .into()
            )
        );
        assert_eq!(fails("x + 1"), (0, "unknown name `x`".into()));
        assert_eq!(
            fails("1 + math.tau2"),
            (4, "unknown name `math.tau2` in module math".into())
        );
        assert!(
            fails("open('f')")
                .1
                .starts_with("unknown function `open` (supported: int, float")
        );
        assert_eq!(fails("int"), (0, "function `int` must be called".into()));
        assert_eq!(fails("pi()"), (0, "'float' object is not callable".into()));
        assert_eq!(
            fails("len(1, 2)"),
            (0, "len() takes 1 argument, got 2".into())
        );
        assert_eq!(
            fails("round()"),
            (0, "round() takes 1 to 2 arguments, got 0".into())
        );
        assert_eq!(
            fails("min()"),
            (0, "min() takes at least 1 argument, got 0".into())
        );
        assert_eq!(
            fails("max('')"),
            (0, "max() arg is an empty sequence".into())
        );
        assert_eq!(fails("max(3)"), (0, "'int' object is not iterable".into()));
        assert_eq!(
            fails("len(5)"),
            (0, "object of type 'int' has no len()".into())
        );
        assert_eq!(
            fails("int('4.5')"),
            (0, "invalid literal for int() with base 10: '4.5'".into())
        );
        assert_eq!(
            fails("int('')"),
            (0, "invalid literal for int() with base 10: ''".into())
        );
        assert_eq!(
            fails("int(None)"),
            (
                0,
                "int() argument must be a string or a real number, not 'NoneType'".into()
            )
        );
        assert_eq!(
            fails("float('abc')"),
            (0, "could not convert string to float: 'abc'".into())
        );
        assert_eq!(
            fails("float('1__0')"),
            (0, "could not convert string to float: '1__0'".into())
        );
        assert_eq!(
            fails("int(float('nan'))"),
            (0, "cannot convert float NaN to integer".into())
        );
        assert_eq!(
            fails("round(float('inf'))"),
            (0, "cannot convert float infinity to integer".into())
        );
        assert_eq!(
            fails("round('1')"),
            (0, "type str doesn't define __round__ method".into())
        );
        assert_eq!(fails("sqrt(-1)"), (0, "math domain error".into()));
        assert_eq!(
            fails("sqrt('4')"),
            (0, "sqrt() must be a real number, not str".into())
        );
        assert_eq!(fails("  'x'.foo()"), (6, "'str' object has no attribute 'foo' (supported methods: lower, upper, strip, lstrip, rstrip, startswith, endswith, replace, find, count, isdigit, isalpha, isalnum, isspace, capitalize, title)".into()));
        assert_eq!(
            fails("(1).lower()"),
            (4, "'int' object has no attribute 'lower'".into())
        );
        assert_eq!(
            fails("'x'.lower(1)"),
            (4, "lower() takes 0 arguments, got 1".into())
        );
        assert_eq!(
            fails("'x'.startswith(1)"),
            (4, "startswith() argument must be str, not int".into())
        );
        assert_eq!(fails("'abc'[3]"), (5, "str index out of range".into()));
        assert_eq!(
            fails("'abc'['a']"),
            (5, "str indices must be integers, not str".into())
        );
        assert_eq!(
            fails("5[0]"),
            (1, "'int' object is not subscriptable".into())
        );
        assert_eq!(fails("'abc'[::0]"), (5, "slice step cannot be zero".into()));
        assert_eq!(
            fails("'abc'[1.5:]"),
            (6, "slice indices must be integers or None".into())
        );
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(fails(""), (0, "empty expression".into()));
        assert_eq!(fails("   "), (0, "empty expression".into()));
        assert_eq!(fails("1 +"), (3, "unexpected end of expression".into()));
        assert_eq!(
            fails("(1 + 2"),
            (
                6,
                "expected `)` to close `(`, found end of expression".into()
            )
        );
        assert_eq!(fails("1 2"), (2, "unexpected number `2`".into()));
        assert_eq!(fails("'abc"), (0, "unterminated string literal".into()));
        assert_eq!(
            fails("x = 1"),
            (
                2,
                "assignment is not allowed in an expression (use `==` to compare)".into()
            )
        );
        assert_eq!(
            fails("1 << 2"),
            (2, "operator `<<` is not supported".into())
        );
        assert_eq!(fails("1 & 2"), (2, "operator `&` is not supported".into()));
        assert_eq!(
            fails("a if b"),
            (
                6,
                "expected `else` after `... if condition`, found end of expression".into()
            )
        );
        assert_eq!(fails("lambda: 1"), (0, "lambda is not supported".into()));
        assert_eq!(fails("1 + if"), (4, "unexpected keyword `if`".into()));
        assert_eq!(fails("f'x'"), (0, "f-strings are not supported".into()));
        assert_eq!(
            fails("012"),
            (
                0,
                "leading zeros in decimal integer literals are not permitted (use 0o for octal)"
                    .into()
            )
        );
        assert_eq!(fails("1_"), (0, "invalid number literal".into()));
        assert_eq!(fails("1abc"), (0, "invalid number literal".into()));
        assert_eq!(fails("0x"), (0, "invalid number literal".into()));
        assert_eq!(
            fails("int(x=1)"),
            (4, "keyword arguments are not supported".into())
        );
        assert_eq!(
            fails("'a'.b"),
            (
                4,
                "attribute `b` is not supported (only method calls are)".into()
            )
        );
        assert_eq!(
            fails("1 # c"),
            (2, "comments are not allowed in an expression".into())
        );
        assert_eq!(fails("1 ? 2"), (2, "unexpected character `?`".into()));
        assert_eq!(
            fails("'\\x4'"),
            (1, "invalid `\\x` escape in string literal".into())
        );
        assert_eq!(
            fails("(1)(2)"),
            (3, "only named functions and methods can be called".into())
        );
        // Columns count chars, not bytes.
        assert_eq!(
            fails("'é' + 1"),
            (4, "can only concatenate str (not \"int\") to str".into())
        );
        assert_eq!(
            check_syntax("1 +"),
            Err(EvalError {
                column: 3,
                message: "unexpected end of expression".into()
            })
        );
        // check_syntax does not evaluate.
        assert_eq!(check_syntax("1 / 0"), Ok(()));
    }

    #[test]
    fn repetition_limits() {
        assert_eq!(ok("[] * 1000000000000000000"), "[]");
        assert_eq!(ok("'' * 1000000000000000000"), "");
        assert_eq!(
            fails("[1] * 100000000"),
            (4, "repetition result too large".into())
        );
    }

    #[test]
    fn nesting_limit() {
        let deep = format!("{}1{}", "(".repeat(15), ")".repeat(15));
        assert_eq!(ok(&deep), "1");
        let too_deep = format!("{}1{}", "(".repeat(16), ")".repeat(16));
        assert_eq!(
            fails(&too_deep),
            (16, "expression nested too deeply".into())
        );
        assert_eq!(
            fails(&"-".repeat(200)),
            (16, "expression nested too deeply".into())
        );
        assert_eq!(
            fails(&"not ".repeat(100)),
            (64, "expression nested too deeply".into())
        );
        let calls = format!("{}1{}", "abs(".repeat(15), ")".repeat(15));
        assert_eq!(ok(&calls), "1");
    }

    #[test]
    fn long_expressions() {
        // Long flat chains are fine (they do not nest).
        assert_eq!(ok(&vec!["True"; 400].join(" and ")), "True");
        assert_eq!(ok(&format!("{} or 7", vec!["0"; 400].join(" or "))), "7");
        let long = vec!["1"; 600].join("+");
        assert_eq!(
            fails(&long),
            (1000, "expression too long (more than 1000 tokens)".into())
        );
        assert_eq!(ok(&vec!["1"; 500].join("+")), "500");
    }

    #[test]
    fn string_literals() {
        assert_eq!(ok(r#"'a\nb'"#), "a\nb");
        assert_eq!(ok(r#"'\101\0'"#), "A\0");
        assert_eq!(ok(r#"'\q'"#), "\\q");
        assert_eq!(ok(r#"'\U0001F600'"#), "\u{1F600}");
        assert_eq!(ok(r#"'''a'b'''"#), "a'b");
        assert_eq!(ok(r#"R'\d+'"#), "\\d+");
        assert_eq!(ok(r#""it's""#), "it's");
    }
}

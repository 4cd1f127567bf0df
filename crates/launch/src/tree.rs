//! The XML and YAML launch frontends read into one element tree that remembers where every
//! element came from, so the loader can report `file:line:column`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::LaunchError;

/// A place in a launch file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// An attribute value: text (YAML scalars keep their source text), or a list (YAML
/// sequences of scalars, e.g. `value: [a, b]`).
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A single value.
    Text(String),
    /// A list of values.
    List(Vec<String>),
}

/// One attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    /// Name.
    pub name: String,
    /// Value.
    pub value: AttrValue,
    /// Where the value is.
    pub pos: Pos,
}

/// One launch element (`node`, `arg`, `group`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// Tag name.
    pub tag: String,
    /// Attributes in file order.
    pub attrs: Vec<Attr>,
    /// Child elements in file order.
    pub children: Vec<Element>,
    /// Where the element starts.
    pub pos: Pos,
    /// The file it is in.
    pub file: Arc<PathBuf>,
}

impl Element {
    /// An error at this element.
    pub fn error(&self, message: impl Into<String>) -> LaunchError {
        LaunchError::at(&self.file, self.pos, message)
    }

    /// An attribute by name.
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

/// Reads a launch file, choosing the frontend by extension (`.xml`, `.yaml`/`.yml`; a
/// `.launch.py` file is refused with a clear message).
pub fn read_file(path: &Path) -> Result<Element, LaunchError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LaunchError::at(path, Pos::default(), format!("cannot read: {e}")))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.ends_with(".xml") {
        parse_xml(&text, path)
    } else if name.ends_with(".yaml") || name.ends_with(".yml") {
        parse_yaml(&text, path)
    } else if name.ends_with(".py") {
        Err(LaunchError::at(
            path,
            Pos::default(),
            "Python launch files are not supported; write it as .launch.xml or .launch.yaml",
        ))
    } else {
        Err(LaunchError::at(
            path,
            Pos::default(),
            "unknown launch file format (expected .xml, .yaml or .yml)",
        ))
    }
}

/// Parses an XML launch file.
pub fn parse_xml(text: &str, path: &Path) -> Result<Element, LaunchError> {
    let file = Arc::new(path.to_path_buf());
    let doc = roxmltree::Document::parse(text).map_err(|e| {
        let p = e.pos();
        LaunchError::at(
            path,
            Pos {
                line: p.row as usize,
                column: p.col as usize,
            },
            format!("malformed XML: {e}"),
        )
    })?;
    fn convert(
        doc: &roxmltree::Document<'_>,
        node: roxmltree::Node<'_, '_>,
        file: &Arc<PathBuf>,
    ) -> Element {
        let at = |offset: usize| {
            let p = doc.text_pos_at(offset);
            Pos {
                line: p.row as usize,
                column: p.col as usize,
            }
        };
        Element {
            tag: node.tag_name().name().to_owned(),
            attrs: node
                .attributes()
                .map(|a| Attr {
                    name: a.name().to_owned(),
                    value: AttrValue::Text(a.value().to_owned()),
                    pos: at(a.range_value().start),
                })
                .collect(),
            children: node
                .children()
                .filter(|c| c.is_element())
                .map(|c| convert(doc, c, file))
                .collect(),
            pos: at(node.range().start),
            file: file.clone(),
        }
    }
    Ok(convert(&doc, doc.root_element(), &file))
}

/// A YAML node with its position.
#[derive(Debug, Clone)]
enum Yaml {
    Scalar(String, TScalarStyle, Pos),
    Seq(Vec<Yaml>, Pos),
    Map(Vec<(Yaml, Yaml)>, Pos),
}

impl Yaml {
    fn pos(&self) -> Pos {
        match self {
            Yaml::Scalar(_, _, p) | Yaml::Seq(_, p) | Yaml::Map(_, p) => *p,
        }
    }
}

enum Frame {
    Seq(Vec<Yaml>, Pos),
    /// Entries so far, position, and a key waiting for its value.
    Map(Vec<(Yaml, Yaml)>, Pos, Option<Yaml>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    done: Option<Yaml>,
    error: Option<(Pos, String)>,
}

fn pos_of(m: &Marker) -> Pos {
    Pos {
        line: m.line(),
        column: m.col() + 1,
    }
}

impl Builder {
    fn push_value(&mut self, v: Yaml) {
        match self.stack.last_mut() {
            Some(Frame::Seq(items, _)) => items.push(v),
            Some(Frame::Map(entries, _, pending)) => match pending.take() {
                Some(key) => entries.push((key, v)),
                None => *pending = Some(v),
            },
            None => self.done = Some(v),
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = pos_of(&mark);
        match ev {
            Event::Scalar(s, style, _, _) => self.push_value(Yaml::Scalar(s, style, pos)),
            Event::SequenceStart(..) => self.stack.push(Frame::Seq(Vec::new(), pos)),
            Event::MappingStart(..) => self.stack.push(Frame::Map(Vec::new(), pos, None)),
            Event::SequenceEnd | Event::MappingEnd => {
                let v = match self.stack.pop() {
                    Some(Frame::Seq(items, p)) => Yaml::Seq(items, p),
                    Some(Frame::Map(entries, p, _)) => Yaml::Map(entries, p),
                    None => return,
                };
                self.push_value(v);
            }
            Event::Alias(_) if self.error.is_none() => {
                self.error = Some((pos, "YAML aliases are not supported in launch files".into()));
            }
            _ => {}
        }
    }
}

/// Parses a YAML launch file (`launch:` with a list of single-key maps).
pub fn parse_yaml(text: &str, path: &Path) -> Result<Element, LaunchError> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut b, false).map_err(|e| {
        LaunchError::at(
            path,
            pos_of(e.marker()),
            format!("malformed YAML: {}", e.info()),
        )
    })?;
    if let Some((pos, msg)) = b.error {
        return Err(LaunchError::at(path, pos, msg));
    }
    let file = Arc::new(path.to_path_buf());
    let err = |pos: Pos, msg: String| LaunchError::at(path, pos, msg);
    let root = b
        .done
        .ok_or_else(|| err(Pos { line: 1, column: 1 }, "empty launch file".into()))?;
    let Yaml::Map(entries, pos) = &root else {
        return Err(err(
            root.pos(),
            "a YAML launch file is a map with the single key `launch`".into(),
        ));
    };
    match entries.as_slice() {
        [(Yaml::Scalar(k, _, kpos), body)] if k == "launch" => {
            let children = yaml_children(body, &file)?;
            Ok(Element {
                tag: "launch".into(),
                attrs: Vec::new(),
                children,
                pos: *kpos,
                file,
            })
        }
        _ => Err(err(
            *pos,
            "a YAML launch file is a map with the single key `launch`".into(),
        )),
    }
}

/// A list of `- tag: body` entries.
fn yaml_children(v: &Yaml, file: &Arc<PathBuf>) -> Result<Vec<Element>, LaunchError> {
    match v {
        Yaml::Seq(items, _) => items.iter().map(|i| yaml_entry(i, file)).collect(),
        Yaml::Scalar(s, _, _) if s.is_empty() || s == "~" || s == "null" => Ok(Vec::new()),
        other => Err(LaunchError::at(
            file,
            other.pos(),
            "expected a list of launch entries (`- tag: ...`)",
        )),
    }
}

fn yaml_entry(v: &Yaml, file: &Arc<PathBuf>) -> Result<Element, LaunchError> {
    match v {
        Yaml::Map(entries, pos) if entries.len() == 1 => {
            let (Yaml::Scalar(tag, _, tpos), body) = &entries[0] else {
                return Err(LaunchError::at(
                    file,
                    *pos,
                    "an entry's key must be a tag name",
                ));
            };
            yaml_element(tag, *tpos, body, file)
        }
        other => Err(LaunchError::at(
            file,
            other.pos(),
            "each launch entry is a map with exactly one key, the tag (e.g. `- node: {pkg: embody, exec: talker}`)",
        )),
    }
}

fn scalar_text(s: &str, style: TScalarStyle) -> String {
    // `~`/`null` plain scalars mean "no value"; quoted ones are the text.
    if style == TScalarStyle::Plain && (s == "~" || s == "null") {
        String::new()
    } else {
        s.to_owned()
    }
}

/// Element `tag` with body `body`: a map of attributes and child lists, a list of children
/// (the `- group:` shorthand), or nothing.
fn yaml_element(
    tag: &str,
    pos: Pos,
    body: &Yaml,
    file: &Arc<PathBuf>,
) -> Result<Element, LaunchError> {
    let mut e = Element {
        tag: tag.to_owned(),
        attrs: Vec::new(),
        children: Vec::new(),
        pos,
        file: file.clone(),
    };
    match body {
        Yaml::Seq(..) => e.children = yaml_children(body, file)?,
        Yaml::Scalar(s, _, _) if s.is_empty() || s == "~" || s == "null" => {}
        Yaml::Scalar(..) => {
            return Err(LaunchError::at(
                file,
                body.pos(),
                format!("`{tag}` needs a map of attributes, not a single value"),
            ));
        }
        Yaml::Map(entries, _) => {
            for (k, v) in entries {
                let Yaml::Scalar(key, _, kpos) = k else {
                    return Err(LaunchError::at(
                        file,
                        k.pos(),
                        "attribute names must be plain text",
                    ));
                };
                match v {
                    _ if key == "children" => e.children.extend(yaml_children(v, file)?),
                    Yaml::Scalar(s, style, vpos) => e.attrs.push(Attr {
                        name: key.clone(),
                        value: AttrValue::Text(scalar_text(s, *style)),
                        pos: *vpos,
                    }),
                    Yaml::Seq(items, vpos)
                        if items.iter().all(|i| matches!(i, Yaml::Scalar(..)))
                            && !items.is_empty() =>
                    {
                        e.attrs.push(Attr {
                            name: key.clone(),
                            value: AttrValue::List(
                                items
                                    .iter()
                                    .map(|i| match i {
                                        Yaml::Scalar(s, style, _) => scalar_text(s, *style),
                                        _ => unreachable!("checked above"),
                                    })
                                    .collect(),
                            ),
                            pos: *vpos,
                        })
                    }
                    Yaml::Seq(items, _) => {
                        // `param: [{...}, {...}]`: repeated child elements named after the key.
                        for item in items {
                            e.children.push(yaml_element(key, item.pos(), item, file)?);
                        }
                    }
                    Yaml::Map(..) => e.children.push(yaml_element(key, *kpos, v, file)?),
                }
            }
        }
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: &Element, name: &str) -> String {
        match &e.attr(name).unwrap().value {
            AttrValue::Text(t) => t.clone(),
            AttrValue::List(l) => l.join(","),
        }
    }

    #[test]
    fn xml_and_yaml_give_the_same_tree_shape_with_positions() {
        let xml = r#"<launch>
  <arg name="ns" default="robot1"/>
  <group>
    <node pkg="embody" exec="talker" name="t1">
      <param name="rate" value="5"/>
      <remap from="chatter" to="/speech"/>
    </node>
  </group>
</launch>
"#;
        let yaml = r#"launch:
- arg: {name: ns, default: robot1}
- group:
  - node:
      pkg: embody
      exec: talker
      name: t1
      param:
      - {name: rate, value: 5}
      remap:
      - {from: chatter, to: /speech}
"#;
        let x = parse_xml(xml, Path::new("a.launch.xml")).unwrap();
        let y = parse_yaml(yaml, Path::new("a.launch.yaml")).unwrap();
        for root in [&x, &y] {
            assert_eq!(root.tag, "launch");
            assert_eq!(root.children[0].tag, "arg");
            assert_eq!(text(&root.children[0], "default"), "robot1");
            let node = &root.children[1].children[0];
            assert_eq!(node.tag, "node");
            assert_eq!(text(node, "exec"), "talker");
            let tags: Vec<&str> = node.children.iter().map(|c| c.tag.as_str()).collect();
            assert_eq!(tags, ["param", "remap"]);
            assert_eq!(text(&node.children[0], "value"), "5");
            assert_eq!(text(&node.children[1], "to"), "/speech");
        }
        assert_eq!(x.children[1].children[0].pos, Pos { line: 4, column: 5 });
        assert_eq!(y.children[1].children[0].pos.line, 4);
        assert_eq!(y.children[1].children[0].children[0].pos.line, 9);
    }

    #[test]
    fn yaml_lists_children_key_and_null_bodies() {
        let yaml = "launch:\n- group:\n    scoped: 'false'\n    children:\n    - node: {pkg: embody, exec: listener, args: [a, b]}\n- executable: {cmd: ls}\n- group: ~\n";
        let y = parse_yaml(yaml, Path::new("x.yaml")).unwrap();
        assert_eq!(text(&y.children[0], "scoped"), "false");
        let node = &y.children[0].children[0];
        assert_eq!(
            node.attr("args").unwrap().value,
            AttrValue::List(vec!["a".into(), "b".into()])
        );
        assert!(y.children[2].children.is_empty());
    }

    #[test]
    fn malformed_files_report_line_and_column() {
        let e = parse_xml(
            "<launch>\n  <node pkg=\"x\">\n</launch>\n",
            Path::new("bad.xml"),
        )
        .unwrap_err();
        assert_eq!((e.line, e.file.as_str()), (3, "bad.xml"), "{e}");
        assert!(e.to_string().starts_with("bad.xml:3:"), "{e}");
        let e = parse_yaml(
            "launch:\n- node: {pkg: x\n- arg: {}\n",
            Path::new("bad.yaml"),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("bad.yaml:"), "{e}");
        assert!(e.line >= 2, "{e}");
        let e = parse_yaml("launch:\n- node: talker\n", Path::new("v.yaml")).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.to_string().contains("needs a map"), "{e}");
        let e = parse_yaml("nodes: []\n", Path::new("r.yaml")).unwrap_err();
        assert!(e.to_string().contains("single key `launch`"), "{e}");
    }
}

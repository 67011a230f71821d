//! A YAML value that keeps the order of mapping keys as written, so rendered
//! documents follow the meta file (serde_json's map would sort them).

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    /// A scalar as text (booleans and numbers in their YAML spelling).
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn parse(text: &str) -> Option<Node> {
        warden_core::strict::from_yaml_str::<Node>(text).ok()
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Scalar(v))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = seq.next_element::<Node>()? {
            v.push(x);
        }
        Ok(Node::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut v = Vec::new();
        while let Some((k, x)) = map.next_entry::<Node, Node>()? {
            let key = match k {
                Node::Scalar(s) => s,
                Node::Null => "null".into(),
                other => format!("{other:?}"),
            };
            v.push((key, x));
        }
        Ok(Node::Map(v))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flow_and_block() {
        let r = warden_core::strict::from_yaml_str::<Node>(
            "type: subsystem_readme\nsubsystem: {name: Agents, purpose: Run agents.}\nresponsibilities: {handles: [tasks], avoids: [http]}\n",
        );
        assert!(r.is_ok(), "{r:?}");
        let n = r.expect("ok");
        assert!(n.get("subsystem").is_some(), "{n:?}");
        let p = Node::parse(&String::from_utf8_lossy(
            b"type: subsystem_readme\nsubsystem: {name: Agents}\n",
        ));
        assert!(
            p.as_ref().is_some_and(|p| p.get("subsystem").is_some()),
            "{p:?}"
        );
    }

    #[test]
    fn keeps_key_order() {
        let n = Node::parse("b: 1\na: [x, {z: 1, y: true}]\nc:\n").expect("parses");
        let Node::Map(m) = &n else { panic!("map") };
        let keys: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["b", "a", "c"]);
        assert_eq!(n.get("c"), Some(&Node::Null));
        assert_eq!(n.get("b"), Some(&Node::Scalar("1".into())));
    }
}

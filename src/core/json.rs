//! One strict JSON decoder for every record the tool reads and the hook
//! judges (ledger records, note lines), so the server and the readers can
//! never disagree on what a record says: valid UTF-8, one value, no
//! duplicate keys at any depth, bounded nesting, and no control characters
//! in any string (keys included).

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::fmt;

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 32;

/// Parses `bytes` as one strict JSON value; `Err` is one line saying why
/// (`not valid UTF-8`, `not JSON: …` or `not strict JSON: …`).
pub fn strict_value(bytes: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string())?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let why = |e: serde_json::Error| match e.classify() {
        serde_json::error::Category::Data => format!("not strict JSON: {e}"),
        _ => format!("not JSON: {e}"),
    };
    let value = Strict { depth: 0 }
        .deserialize(&mut deserializer)
        .map_err(why)?;
    deserializer.end().map_err(why)?;
    Ok(value)
}

/// Parses `bytes` as one strict JSON object.
pub fn strict_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match strict_value(bytes)? {
        Value::Object(map) => Ok(map),
        _ => Err("not a JSON object".to_string()),
    }
}

/// Replaces control characters with `\u{..}` escapes, so text that came from
/// a record never drives a terminal.
pub fn printable(text: &str) -> String {
    let hidden = |c: char| c.is_control() || is_invisible_format(c);
    if !text.chars().any(hidden) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| match c {
            c if hidden(c) => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Bidirectional controls and invisible format characters (U+061C, U+200B
/// to U+200F, U+202A to U+202E, U+2060 to U+2069, U+FEFF): they reorder or
/// hide what a terminal or a page shows, so a name can read as another.
pub fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

struct Strict {
    depth: usize,
}

impl Strict {
    fn nested<E: de::Error>(&self) -> Result<Strict, E> {
        if self.depth >= MAX_DEPTH {
            return Err(E::custom(format!("nested deeper than {MAX_DEPTH}")));
        }
        Ok(Strict {
            depth: self.depth + 1,
        })
    }
}

fn clean<E: de::Error>(s: &str) -> Result<(), E> {
    if s.chars().any(char::is_control) {
        return Err(E::custom("a string holds control characters"));
    }
    Ok(())
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number is not finite"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        clean(v)?;
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        clean(&v)?;
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.nested()?)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            clean(&key)?;
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let value = map.next_value_seed(self.nested()?)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(
            strict_value(br#"{"a":1,"a":2}"#)
                .unwrap_err()
                .contains("duplicate key `a`")
        );
        assert!(strict_value(br#"{"x":{"b":1,"b":1}}"#).is_err());
        assert!(
            strict_value(br#"[{"b":1},{"b":1}]"#).is_ok(),
            "siblings may share keys"
        );
    }

    #[test]
    fn control_characters_utf8_depth_and_trailing_data() {
        assert!(
            strict_value(b"{\"a\":\"x\\u001b[31m\"}").is_err(),
            "escaped ESC"
        );
        assert!(strict_value(b"{\"\\u0007\":1}").is_err(), "in a key");
        assert!(
            strict_value(b"{\"a\":\"\xff\"}")
                .unwrap_err()
                .contains("UTF-8")
        );
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert!(
            strict_value(deep.as_bytes())
                .unwrap_err()
                .contains("deeper")
        );
        assert!(strict_value(b"{} {}").is_err(), "one value only");
        assert_eq!(
            strict_value(br#" {"a":[1,2.5,"s",null,true]} "#).expect("valid"),
            serde_json::json!({"a":[1,2.5,"s",null,true]})
        );
    }

    #[test]
    fn printable_escapes_control_characters_only() {
        assert_eq!(printable("plain – text"), "plain – text");
        assert_eq!(printable("a\u{1b}[31mb"), "a\\u{1b}[31mb");
    }
}

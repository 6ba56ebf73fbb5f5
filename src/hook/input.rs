//! The hook's input: `<old> <new> <ref>` lines, as git writes them on stdin.

use crate::git::ObjectId;

/// One ref a push updates; `None` stands for git's all-zero id (absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefChange {
    /// The value before the push (None: the ref is created).
    pub old: Option<ObjectId>,
    /// The value after the push (None: the ref is deleted).
    pub new: Option<ObjectId>,
    /// The full ref name.
    pub name: String,
}

impl RefChange {
    /// True when the push deletes the ref.
    pub fn is_delete(&self) -> bool {
        self.new.is_none()
    }
}

/// Parses one id: 40 hex digits, all zeros meaning absent.
fn parse_id(text: &str) -> Result<Option<ObjectId>, ()> {
    if text.len() != 40 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(());
    }
    if text.bytes().all(|b| b == b'0') {
        return Ok(None);
    }
    ObjectId::from_hex(text.to_ascii_lowercase().as_bytes())
        .map(Some)
        .map_err(|_| ())
}

/// Parses the hook input; `Err` holds the first line that is not `<old> <new> <ref>`.
/// Blank lines are skipped. Symbolic values (`ref:<name>`, reference-transaction) are skipped too.
pub fn parse_input(text: &str) -> Result<Vec<RefChange>, String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_end_matches('\r');
        if trimmed.trim().is_empty() {
            continue;
        }
        let mut parts = trimmed.splitn(3, ' ');
        let (Some(old), Some(new), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(trimmed.to_string());
        };
        if old.starts_with("ref:") || new.starts_with("ref:") {
            continue;
        }
        let (Ok(old), Ok(new)) = (parse_id(old), parse_id(new)) else {
            return Err(trimmed.to_string());
        };
        if name.is_empty() {
            return Err(trimmed.to_string());
        }
        out.push(RefChange {
            old,
            new,
            name: name.to_string(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn zero_ids_mean_absent() {
        let input = format!("{Z} {A} refs/heads/main\n{A} {Z} refs/deploybot/queue\n\n");
        let changes = parse_input(&input).expect("valid input");
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].old, None, "created");
        assert!(changes[1].is_delete());
        assert_eq!(changes[0].name, "refs/heads/main");
    }

    #[test]
    fn garbage_is_named() {
        assert_eq!(parse_input("abc def"), Err("abc def".to_string()));
        assert_eq!(
            parse_input(&format!("{A} nothex refs/heads/x")),
            Err(format!("{A} nothex refs/heads/x"))
        );
    }

    #[test]
    fn symbolic_updates_are_skipped() {
        let input = format!("ref:refs/heads/a ref:refs/heads/b HEAD\n{Z} {A} refs/heads/x\n");
        assert_eq!(parse_input(&input).expect("valid").len(), 1);
    }
}
